/* tensor_view.c — step 1 of the examples ladder: a tmlp_tensor is a VIEW.
 *
 * A tensor is a small value struct (dtype, ndim, shape, data pointer) that describes
 * memory it does not own: no allocation, no copy, nothing to free. Row-major: element
 * (r, c) of a (rows, cols) view is data[r * cols + c].
 *
 *     cc tensor_view.c $(pkg-config --cflags --libs tinymlp) -o tensor_view
 * Next: dense_by_hand.c.
 */
#include <stdio.h>
#include <tinymlp.h>

int main(void)
{
    float pixels[2 * 3] = {1, 2, 3,          /* row 0 */
                           4, 5, 6};         /* row 1 */
    tmlp_tensor t = tmlp_tensor_2d(pixels, 2, 3); /* a (2, 3) view of the array */
    printf("ndim %d, shape (%lld, %lld), %lld elements\n", (int)t.ndim, (long long)t.shape[0],
           (long long)t.shape[1], (long long)tmlp_tensor_numel(&t));

    /* Element (1, 2) is data[1 * 3 + 2]: the view reads the caller's memory. */
    printf("t[1][2] = %g\n", t.data[1 * t.shape[1] + 2]);

    /* The same memory seen as one row of 6 (a batch of 1): no copy, another view. */
    tmlp_tensor flat = tmlp_tensor_2d(pixels, 1, 6);
    pixels[5] = 60;                          /* both views see the change */
    printf("flat[0][5] = %g, t[1][2] = %g\n", flat.data[5], t.data[5]);

    /* A bad shape is not an error until a call uses it; numel says -1 when it overflows. */
    tmlp_tensor bad = tmlp_tensor_2d(pixels, INT64_MAX, 2);
    printf("numel of (INT64_MAX, 2): %lld\n", (long long)tmlp_tensor_numel(&bad));
    return tmlp_tensor_numel(&t) == 6 && tmlp_tensor_numel(&bad) == -1 ? 0 : 1;
}
