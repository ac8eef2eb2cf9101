/* volume_prompt.c — CT/MRI slice choice, windowing, the slice prompt, encode progress (see mgx_volume_prompt.h). */
#include "mgx_volume_prompt.h"
#include "mgx_answer.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* ---------- the ct and mri drivers ---------- */

static const char VOLUME_USAGE[] = "VOLUME -q QUESTION [-q ...] -m MODEL.gguf --mmproj MMPROJ.gguf [--slices K] [--series S] [--volume N] [options]";

/* Stderr notes on what was loaded: the series, slices, modality against the recipe, extra NIfTI volumes. */
static void describe(const char *path, const mgx_volume *v, int n, const mgx_volume_recipe *rc, int volume_given, int quiet) {
    if (!quiet && v->series_uid[0]) fprintf(stderr, "%s: series %s%s%s%s\n", path, v->series_uid, v->series_description[0] ? " \"" : "",
                                  v->series_description, v->series_description[0] ? "\"" : "");
    if (!quiet)
        fprintf(stderr, "%s: %d slices of %dx%d%s%s, using %d\n", path, v->d, v->w, v->h, v->modality[0] ? ", modality " : "",
                v->modality, n);
    if (v->modality[0] && strcmp(v->modality, rc->modality) != 0 && (rc->mode == MGX_SLICES_CT || !strcmp(v->modality, "CT")))
        fprintf(stderr, "warning: %s is modality %s, not %s: %s\n", path, v->modality, rc->modality,
                rc->mode == MGX_SLICES_CT ? "the CT windows (Hounsfield units) may not apply; mri scales without windows"
                                          : "ct applies Google's CT windows");
    if (v->nvolumes > 1 && !volume_given)
        fprintf(stderr, "warning: %s holds %d volumes; using the first (--volume N picks volume N, 0 to %d)\n", path,
                v->nvolumes, v->nvolumes - 1);
    else if (v->nvolumes > 1 && !quiet) fprintf(stderr, "%s: volume %d of 0 to %d\n", path, v->volume, v->nvolumes - 1);
}


/* The slices a run uses: their indices in the sorted volume, 8-bit images, labels, and the DICOM series. */
typedef struct slice_set { int n, *idx; mgx_image *imgs; char **src; char series[65]; } slice_set;

static void slice_set_free(slice_set *ss) {
    int i;
    for (i = 0; i < ss->n; i++) { mgx_image_free(&ss->imgs[i]); free(ss->src[i]); }
    free(ss->idx); free(ss->imgs); free(ss->src);
    memset(ss, 0, sizeof *ss);
}

/* Loads the volume, keeps k evenly spaced slices and makes their images (the voxels are freed at once).
   0, or -1 after a message. */
static int load_slices(const mgx_opts *o, const mgx_volume_recipe *rc, const mgx_volume_options *vo, int volume_given,
                       int k, slice_set *ss) {
    const char *path = o->positional[0];
    mgx_volume vol;
    char err[4096];   /* room for the list of a folder's series */
    int i, status = -1;
    memset(ss, 0, sizeof *ss);
    memset(&vol, 0, sizeof vol);
    if (mgx_volume_load_ex(path, vo, &vol, err, sizeof err) != 0) {
        mgx_print_error(NULL, path, err);
        if (strstr(err, " series")) fprintf(stderr, "(--series UID or --series N picks one)\n");
        return -1;
    }
    if (vol.d < 1 || vol.w < 1 || vol.h < 1) { fprintf(stderr, "error: %s: no slices\n", path); goto done; }
    if (k > vol.d) k = vol.d;
    ss->idx = (int *)malloc((size_t)k * sizeof *ss->idx);
    ss->imgs = (mgx_image *)calloc((size_t)k, sizeof *ss->imgs);
    ss->src = (char **)calloc((size_t)k, sizeof *ss->src);
    if (!ss->idx || !ss->imgs || !ss->src) { fprintf(stderr, "error: out of memory\n"); goto done; }
    ss->n = mgx_sample_slices(vol.d, k, ss->idx);
    describe(path, &vol, ss->n, rc, volume_given, o->quiet);
    if (mgx_volume_slice_images(&vol, rc->mode, ss->idx, ss->n, ss->imgs, err, sizeof err) != 0) { fprintf(stderr, "error: %s\n", err); goto done; }
    for (i = 0; i < ss->n; i++) {
        size_t len = strlen(path) + 32;
        if (!(ss->src[i] = (char *)malloc(len))) { fprintf(stderr, "error: out of memory\n"); goto done; }
        snprintf(ss->src[i], len, "slice %d of %s", ss->idx[i], path);
    }
    snprintf(ss->series, sizeof ss->series, "%s", vol.series_uid);
    status = 0;
done:
    mgx_volume_free(&vol);
    return status;
}

int mgx_volume_main(int argc, char **argv, const mgx_volume_recipe *rc) {
    mgx_opts o;
    mgx_run r;
    slice_set ss;
    mg_image_embd *embd = NULL;
    mgx_slice_prompt sp[MGX_MAX_QUESTIONS];
    mg_prompt p[MGX_MAX_QUESTIONS];
    const mg_chat_item *turns[MGX_MAX_QUESTIONS];
    int n_items[MGX_MAX_QUESTIONS];
    mgx_driver d;
    uint8_t sha[32];
    int i, k = MGX_DEFAULT_SLICES, volume_given, q = 0, built = 0, status;
    mgx_volume_options vo = { NULL, -1 };
    mgx_arg own[4] = {
        { "--slices", MGX_INT, &k, "K", "slices to use, evenly spaced (default 85, Google's choice)", 1, MGX_MAX_VOLUME_SLICES, 0 },
        { "--series", MGX_STR, &vo.series, "UID|N", "a DICOM folder's series: its SeriesInstanceUID or its number in the list", 0, 0, 0 },
        { "--volume", MGX_INT, &vo.volume, "N", "a 4D NIfTI's volume, 0-based (default 0)", 0, 1 << 20, 0 },
        { NULL, MGX_FLAG, NULL, NULL, NULL, 0, 0, 0 } };
    memset(&d, 0, sizeof d);
    d.prog = rc->prog; d.usage = VOLUME_USAGE; d.about = rc->about; d.pos_name = "VOLUME"; d.n_pos = 1; d.questions = 1;
    if ((status = mgx_driver_args(&o, &d, own, argc, argv)) >= 0) return status;
    status = 1;
    volume_given = vo.volume >= 0;
    if (!volume_given) vo.volume = 0;
    mgx_run_init(&r, &o);
    r.advice = "use fewer --slices or a shorter question";
    if (load_slices(&o, rc, &vo, volume_given, k, &ss) != 0) goto done;
    if (mgx_file_sha256(o.positional[0], sha) == 0) mgx_run_input(&r, o.positional[0], sha);
    r.image_src = (const char *const *)ss.src; r.n_images = ss.n; r.used_name = "slices"; r.used = ss.idx;
    r.series = ss.series[0] ? ss.series : NULL;

    if (mgx_run_load(&r, 1) != 0) goto done;
    for (q = 0; q < o.n_questions; q++) {              /* images as placeholders: the budget comes first */
        if (mgx_slice_prompt_build(&sp[q], rc->instruction, NULL, ss.n, o.questions[q]) != 0) { fprintf(stderr, "error: out of memory\n"); goto done; }
        turns[q] = sp[q].items; n_items[q] = sp[q].n_items;
    }
    if (mgx_run_prompts(&r, turns, n_items, o.n_questions, p) != 0) goto done;
    built = o.n_questions;
    if (o.dump_prompt) {
        mgx_dump_prompts(&r, p, built);
        mgx_dump_indices(stdout, ss.idx, ss.n);
        status = 0;
        goto done;
    }
    if (!(embd = (mg_image_embd *)calloc((size_t)ss.n, sizeof *embd))) { fprintf(stderr, "error: out of memory\n"); goto done; }
    if (mgx_run_images_and_ask(&r, ss.imgs, ss.n, "encoding slice", embd, p, built) == 0) status = 0;
done:
    for (i = 0; i < built; i++) mg_prompt_free(&p[i]);
    while (q-- > 0) mgx_slice_prompt_free(&sp[q]);
    for (i = 0; embd && i < ss.n; i++) mg_image_embd_free(&embd[i]);
    free(embd);
    slice_set_free(&ss);
    mgx_run_free(&r);
    mgx_opts_free(&o);
    return status;
}
