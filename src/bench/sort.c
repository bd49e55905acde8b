/* sort.c — sorting latencies in place, without a buffer.
 *
 * glibc's qsort (before 2.37) is a merge sort: it mallocs a buffer as large as the array
 * it sorts whenever that fits in a quarter of physical memory. The harness sorts a copy
 * of every latency to read percentiles, so qsort's buffer would be a third 8-byte array
 * per query at the peak of a run (docs/reliability.md, "Memory per query").
 *
 * This is introsort (Musser 1997): quicksort with a median-of-three pivot, insertion sort
 * below 16 elements, and heapsort for a range once the recursion is 2 log2(n) deep, so
 * the worst case stays O(n log n). The larger side of each partition is handled by the
 * loop, the smaller by recursion: the stack depth is at most log2(n). Not stable (equal
 * doubles are indistinguishable). NaNs do not crash it (every scan is bounded) but leave
 * the order unspecified; the harness never sorts a NaN.
 */
#include "harness_internal.h"

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

static void insertion(double *x, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        double v = x[i];
        int64_t j = i;
        for (; j > 0 && v < x[j - 1]; j--) x[j] = x[j - 1];
        x[j] = v;
    }
}

/* Restore the max-heap below root in x[0, n). */
static void sift_down(double *x, int64_t root, int64_t n)
{
    for (;;) {
        int64_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && x[child] < x[child + 1]) child++;
        if (!(x[root] < x[child])) return;
        swap_d(&x[root], &x[child]);
        root = child;
    }
}

static void heapsort_d(double *x, int64_t n)
{
    for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(x, i, n);
    for (int64_t end = n - 1; end > 0; end--) {
        swap_d(&x[0], &x[end]);
        sift_down(x, 0, end);
    }
}

static void introsort(double *x, int64_t n, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heapsort_d(x, n);
            return;
        }
        /* median of first, middle, last as the pivot, moved to x[0] */
        int64_t mid = n / 2;
        if (x[mid] < x[0]) swap_d(&x[mid], &x[0]);
        if (x[n - 1] < x[0]) swap_d(&x[n - 1], &x[0]);
        if (x[n - 1] < x[mid]) swap_d(&x[n - 1], &x[mid]);
        swap_d(&x[0], &x[mid]);
        double p = x[0];
        /* Hoare partition of x[1, n): afterwards x[0, j] <= p <= x[j + 1, n) */
        int64_t i = 0, j = n;
        for (;;) {
            do i++; while (i < n - 1 && x[i] < p);
            do j--; while (j > 0 && p < x[j]);
            if (i >= j) break;
            swap_d(&x[i], &x[j]);
        }
        swap_d(&x[0], &x[j]); /* the pivot at its place j */
        int64_t left = j, right = n - j - 1;
        if (left < right) {
            introsort(x, left, depth);
            x += j + 1;
            n = right;
        } else {
            introsort(x + j + 1, right, depth);
            n = left;
        }
    }
    insertion(x, n);
}

void tmlp_sort_doubles(double *x, int64_t n)
{
    if (!x || n < 2) return;
    int depth = 0;
    for (int64_t k = n; k > 1; k >>= 1) depth += 2;
    introsort(x, n, depth);
}
