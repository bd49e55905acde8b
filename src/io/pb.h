/* pb.h (private) — a bounded reader of the protobuf wire format, enough to decode ONNX.
 *
 * A message is a sequence of fields, each a tag then a value:
 *
 *     tag   = varint (field_number << 3 | wire_type), field_number >= 1
 *     wire 0 VARINT  1..10 bytes, 7 bits each, low group first, high bit = "more"
 *     wire 1 I64     8 bytes little-endian (fixed64, sfixed64, double)
 *     wire 2 LEN     varint length, then that many bytes (string, bytes, message, packed)
 *     wire 5 I32     4 bytes little-endian (fixed32, sfixed32, float)
 *     wire 3 / 4 (groups, deprecated) and 6 / 7 (undefined) are refused.
 *
 * tmlp_pb_next reads one whole field (tag and value), so a caller skips a field it does not
 * know simply by ignoring it. A LEN field's payload is read with a sub-reader over the same
 * buffer, so every error names the byte offset from the start of the outermost buffer.
 *
 * Repeated scalars come either unpacked (one field per element, in the element's own wire
 * type) or packed (one LEN field holding the elements back to back); a file may mix both.
 * tmlp_pb_rep_begin takes either and yields the elements as uint64_t.
 *
 * Bounds: nothing here allocates; every length is checked against the bytes left in the
 * enclosing message before it is used; a varint longer than 10 bytes or above 2^64 - 1 is
 * refused. Errors are TMLP_ERR_FORMAT with "byte N: ..." in the message.
 */
#ifndef TMLP_IO_PB_H
#define TMLP_IO_PB_H

#include "tinymlp/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tmlp_pb_wire {
    TMLP_PB_VARINT = 0,
    TMLP_PB_I64 = 1,
    TMLP_PB_LEN = 2,
    TMLP_PB_SGROUP = 3,
    TMLP_PB_EGROUP = 4,
    TMLP_PB_I32 = 5
} tmlp_pb_wire;

/* The bytes [pos, end) of buf left to read. A sub-reader shares buf, so offsets are
 * always counted from the start of the outermost buffer. */
typedef struct tmlp_pb_reader {
    const uint8_t *buf;
    size_t pos, end;
} tmlp_pb_reader;

/* One field as read by tmlp_pb_next. */
typedef struct tmlp_pb_field {
    uint32_t number;                    /* >= 1 */
    tmlp_pb_wire wire;                  /* VARINT, I64, LEN or I32 */
    size_t offset;                      /* of the tag in buf */
    uint64_t value;                     /* VARINT, I64, I32 (zero-extended) */
    size_t data, len;                   /* LEN: the payload is buf[data .. data + len) */
} tmlp_pb_field;

/* Largest field number protobuf allows (2^29 - 1). */
#define TMLP_PB_MAX_FIELD 536870911u

/* A reader over buf[0..len). */
tmlp_pb_reader tmlp_pb_reader_init(const uint8_t *buf, size_t len);

/* A reader over a LEN field's payload (f read from r). */
tmlp_pb_reader tmlp_pb_reader_sub(const tmlp_pb_reader *r, const tmlp_pb_field *f);

/* true while bytes are left. */
static inline bool tmlp_pb_more(const tmlp_pb_reader *r) { return r->pos < r->end; }

/* Decode a varint at buf[pos..end): on success *v is the value and *next the offset after
 * it. TMLP_ERR_FORMAT if it runs past end, is longer than 10 bytes or exceeds 64 bits. */
tmlp_status tmlp_pb_varint(const uint8_t *buf, size_t pos, size_t end, uint64_t *v,
                           size_t *next, tmlp_error *err);

/* Read the next field (tag and whole value) and advance past it. Refuses field number 0,
 * wire types 3, 4, 6 and 7, and any value that runs past r->end. */
tmlp_status tmlp_pb_next(tmlp_pb_reader *r, tmlp_pb_field *f, tmlp_error *err);

/* Scalar encodings of repeated fields. */
typedef enum tmlp_pb_scalar {
    TMLP_PB_SCALAR_VARINT,              /* int32, int64, uint64, bool, enum */
    TMLP_PB_SCALAR_FIXED32,             /* float, fixed32 */
    TMLP_PB_SCALAR_FIXED64              /* double, fixed64 */
} tmlp_pb_scalar;

/* Iterator over the elements of one occurrence of a repeated scalar field. */
typedef struct tmlp_pb_rep {
    tmlp_pb_reader r;                   /* packed payload; empty when unpacked */
    tmlp_pb_scalar kind;
    uint64_t single;                    /* the element of an unpacked occurrence */
    size_t left;                        /* elements not yet returned */
} tmlp_pb_rep;

/* Start iterating field f (read from r) as repeated `kind`: unpacked (f's wire type is the
 * scalar's own: VARINT, I32, I64) gives one element; packed (LEN) gives len / 4, len / 8
 * or the number of varints in the payload. The whole payload is validated here (a packed
 * fixed32 length must be a multiple of 4, every varint must be complete), so
 * tmlp_pb_rep_next cannot fail. *count (may be NULL) receives the element count, which is
 * at most f->len (or 1): it is bounded by the bytes that encode it. */
tmlp_status tmlp_pb_rep_begin(const tmlp_pb_reader *r, const tmlp_pb_field *f,
                              tmlp_pb_scalar kind, tmlp_pb_rep *it, size_t *count,
                              tmlp_error *err);

/* The next element (fixed32 zero-extended); false when none are left. */
bool tmlp_pb_rep_next(tmlp_pb_rep *it, uint64_t *v);

/* Little-endian loads (the wire format's byte order, whatever the host's). */
static inline uint32_t tmlp_pb_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tmlp_pb_le64(const uint8_t *p)
{
    return (uint64_t)tmlp_pb_le32(p) | (uint64_t)tmlp_pb_le32(p + 4) << 32;
}

#endif
