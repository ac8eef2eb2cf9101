/* volume_prompt.c — CT/MRI slice choice, windowing, the slice prompt, encode progress (see mgx_volume_prompt.h). */
#include "mgx_volume_prompt.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mgx_sample_slices(int n, int k, int *out) {
    int i;
    if (n < 1 || k < 1) return 0;
    if (n <= k) {
        for (i = 0; i < n; i++) out[i] = i;
        return n;
    }
    for (i = 1; i <= k; i++) out[i - 1] = (int)nearbyint((double)i / (double)k * (double)(n - 1));
    return k;
}

unsigned char mgx_window_u8(double v, double lo, double hi) {
    if (!(v > lo)) return 0;          /* also NaN */
    if (v >= hi) return 255;
    return (unsigned char)nearbyint((v - lo) * 255.0 / (hi - lo));
}

void mgx_ct_rgb(double hu, unsigned char rgb[3]) {
    rgb[0] = mgx_window_u8(hu, -1024, 1024);
    rgb[1] = mgx_window_u8(hu, -135, 215);
    rgb[2] = mgx_window_u8(hu, 0, 80);
}

int mgx_volume_minmax(const mgx_volume *v, float *lo, float *hi) {
    size_t i, n = (size_t)v->w * (size_t)v->h * (size_t)v->d;
    int any = 0;
    for (i = 0; i < n; i++) {
        float x = v->vox[i];
        if (!isfinite(x)) continue;
        if (!any) { *lo = *hi = x; any = 1; }
        else if (x < *lo) *lo = x;
        else if (x > *hi) *hi = x;
    }
    return any ? 0 : -1;
}

int mgx_volume_slice_images(const mgx_volume *v, int mode, const int *idx, int n, mgx_image *out,
                            char *err, size_t errsz) {
    size_t plane = (size_t)v->w * (size_t)v->h, p;
    float lo = 0, hi = 0;
    int i;
    for (i = 0; i < n; i++) memset(&out[i], 0, sizeof out[i]);
    if (!v->vox || v->w < 1 || v->h < 1 || v->d < 1) return mgx_errf(err, errsz, "the volume has no slices");
    if (mode == MGX_SLICES_MRI && mgx_volume_minmax(v, &lo, &hi) != 0) return mgx_errf(err, errsz, "the volume has no finite values");
    for (i = 0; i < n; i++) {
        const float *src;
        unsigned char *dst;
        if (idx[i] < 0 || idx[i] >= v->d) { mgx_errf(err, errsz, "slice %d is out of range", idx[i]); goto fail; }
        if (mgx_image_alloc(&out[i], v->w, v->h, 3, err, errsz) != 0) goto fail;
        src = v->vox + (size_t)idx[i] * plane;
        dst = out[i].px;
        for (p = 0; p < plane; p++, dst += 3) {
            if (mode == MGX_SLICES_CT) mgx_ct_rgb(src[p], dst);
            else {
                double x = src[p];
                dst[0] = dst[1] = dst[2] = x == INFINITY ? 255 : hi > lo ? mgx_window_u8(x, lo, hi) : 0;
            }
        }
    }
    return 0;
fail:
    for (i = 0; i < n; i++) mgx_image_free(&out[i]);
    return -1;
}

int mgx_slice_prompt_build(mgx_slice_prompt *p, const char *instruction, const mg_image_embd *embd, int n,
                           const char *question) {
    int i, k = 0;
    memset(p, 0, sizeof *p);
    if (n < 0) return -1;
    p->items = (mg_chat_item *)calloc((size_t)n * 2 + 2, sizeof *p->items);
    p->labels = (char *)malloc((size_t)n * 24 + 1);
    if (!p->items || !p->labels) { mgx_slice_prompt_free(p); return -1; }
    p->items[k++].text = instruction;
    for (i = 0; i < n; i++) {
        char *label = p->labels + (size_t)i * 24;
        snprintf(label, 24, "SLICE %d", i + 1);
        p->items[k].text = NULL; p->items[k++].image = embd ? &embd[i] : NULL;
        p->items[k++].text = label;
    }
    p->items[k++].text = question;
    p->n_items = k;
    return 0;
}

void mgx_slice_prompt_free(mgx_slice_prompt *p) {
    free(p->items);
    free(p->labels);
    memset(p, 0, sizeof *p);
}

void mgx_dump_indices(FILE *f, const int *idx, int n) {
    int i;
    fputs("indices:", f);
    for (i = 0; i < n; i++) fprintf(f, " %d", idx[i]);
    fputc('\n', f);
}


int mgx_volume_run(const mgx_opts *o, int mode, int k, const char *instruction) {
    const char *path = o->positional[0];
    mgx_volume vol;
    mgx_image *imgs = NULL;
    mg_image_embd *embd = NULL;
    mg_model *m = NULL;
    char err[256], **src = NULL;
    int *idx = NULL, i, n = 0, rc = 1;
    if (mgx_volume_load(path, &vol, err, sizeof err) != 0) { fprintf(stderr, "error: %s: %s\n", path, err); return 1; }
    if (vol.d < 1 || vol.w < 1 || vol.h < 1) { fprintf(stderr, "error: %s: no slices\n", path); goto done; }
    if (k > vol.d) k = vol.d;
    idx = (int *)malloc((size_t)k * sizeof *idx);
    imgs = (mgx_image *)calloc((size_t)k, sizeof *imgs);
    embd = (mg_image_embd *)calloc((size_t)k, sizeof *embd);
    src = (char **)calloc((size_t)k, sizeof *src);
    if (!idx || !imgs || !embd || !src) { fprintf(stderr, "error: out of memory\n"); goto done; }
    n = mgx_sample_slices(vol.d, k, idx);
    fprintf(stderr, "%s: %d slices of %dx%d%s%s, using %d\n", path, vol.d, vol.w, vol.h,
            vol.modality[0] ? ", modality " : "", vol.modality, n);
    if (mgx_volume_slice_images(&vol, mode, idx, n, imgs, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); goto done; }
    mgx_volume_free(&vol);                                     /* the 8-bit slices are all we need now */
    if (o->dump_prompt) {
        for (i = 0; i < n; i++) {
            size_t len = strlen(path) + 32;
            if (!(src[i] = (char *)malloc(len))) { fprintf(stderr, "error: out of memory\n"); goto done; }
            snprintf(src[i], len, "slice %d of %s", idx[i], path);
        }
        for (i = 0; i < o->n_questions; i++) {
            mgx_slice_prompt p;
            if (mgx_slice_prompt_build(&p, instruction, NULL, n, o->questions[i]) != 0) { fprintf(stderr, "error: out of memory\n"); goto done; }
            mgx_dump_items(stdout, p.items, p.n_items, (const char *const *)src);
            mgx_slice_prompt_free(&p);
        }
        mgx_dump_indices(stdout, idx, n);
        rc = 0;
        goto done;
    }
    if (!(m = mgx_load_model(o))) goto done;
    if (mgx_encode_all(o, m, imgs, n, MG_IMAGE_MEDGEMMA, "encoding slice", embd) != 0) goto done;
    for (i = 0; i < n; i++) mgx_image_free(&imgs[i]);
    rc = 0;
    {   /* the same embeddings for every question; the slices are read once (mgx_ask_each keeps a snapshot) */
        mgx_slice_prompt p[MGX_MAX_QUESTIONS];
        const mg_chat_item *turns[MGX_MAX_QUESTIONS];
        int n_items[MGX_MAX_QUESTIONS], q;
        for (q = 0; q < o->n_questions && rc == 0; q++) {
            if (mgx_slice_prompt_build(&p[q], instruction, embd, n, o->questions[q]) != 0) { fprintf(stderr, "error: out of memory\n"); rc = 1; break; }
            turns[q] = p[q].items; n_items[q] = p[q].n_items;
        }
        if (rc == 0) rc = mgx_ask_each(o, m, NULL, turns, n_items, o->n_questions) != 0;
        while (q-- > 0) mgx_slice_prompt_free(&p[q]);
    }
done:
    for (i = 0; i < n; i++) {
        if (imgs) mgx_image_free(&imgs[i]);
        if (embd) mg_image_embd_free(&embd[i]);
        if (src) free(src[i]);
    }
    free(idx); free(imgs); free(embd); free(src);
    mgx_volume_free(&vol);
    mg_model_free(m);
    return rc;
}
