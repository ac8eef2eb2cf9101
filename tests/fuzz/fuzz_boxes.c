/* fuzz_boxes.c — the bounding-box parser of examples/common on hostile model answers: boxes are clamped and
   ordered, then mapped onto a 96 x 64 image, printed and drawn on it. */
#include "fuzz.h"
#include "mgx_boxes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mgx_box boxes[8];
    mgx_image img;
    char err[256];
    int n, skipped = 0, i, k;
    static FILE *sink;   /* opened once */
    if (!sink) sink = fopen("/dev/null", "w");
    n = mgx_boxes_parse((const char *)data, size, boxes, 8, &skipped, sink, err, sizeof err);
    if (n < -1 || n > 8) fz_fail("box count out of range");
    for (i = 0; i < n; i++) {
        for (k = 0; k < 4; k++)
            if (!(boxes[i].box_2d[k] >= 0 && boxes[i].box_2d[k] <= 1000)) fz_fail("box coordinate not in 0..1000");
        if (boxes[i].box_2d[0] > boxes[i].box_2d[2] || boxes[i].box_2d[1] > boxes[i].box_2d[3]) fz_fail("box not ordered");
        if (!memchr(boxes[i].label, 0, sizeof boxes[i].label)) fz_fail("label not terminated");
    }
    if (n > 0) {
        mgx_boxes_map(boxes, n, 96, 64);
        for (i = 0; i < n; i++)
            if (boxes[i].x0 < 0 || boxes[i].x1 > 96 || boxes[i].y0 < 0 || boxes[i].y1 > 64) fz_fail("mapped box off the image");
        if (sink) mgx_boxes_print_json(sink, boxes, n);
        memset(&img, 0, sizeof img);
        if (mgx_image_alloc(&img, 96, 64, 1, err, sizeof err) == 0) {
            memset(img.px, 0, 96 * 64);
            mgx_boxes_draw(&img, boxes, n, 0, err, sizeof err);
            mgx_image_free(&img);
        }
    }
    return 0;
}
