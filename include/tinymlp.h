/* tinymlp.h — umbrella header. (overview written by the engine work) */
#ifndef TINYMLP_H
#define TINYMLP_H
#include "tinymlp/common.h"
#include "tinymlp/model.h"
#include "tinymlp/blas.h"
#include "tinymlp/rng.h"
#include "tinymlp/data.h"
#include "tinymlp/stats.h"
#include "tinymlp/bench.h"
#endif
