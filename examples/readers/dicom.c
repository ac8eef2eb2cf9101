/* dicom.c — DICOM reader for the medgemma.h examples (see mgx_medical.h for what is supported).

   Written from DICOM PS3.5 (encoding), PS3.6 (dictionary) and PS3.3 (pixel module, VOI window, WSI).
   Structure of the code:
     1. byte readers and small helpers (locale-free decimal parser, string trimming)
     2. the data-set parser: elements, sequences and items (defined or undefined length), with the
        context (top level / shared functional groups / per-frame functional groups) that decides which
        attributes are kept; nested data sets anywhere else are walked only to be skipped
     3. pixel data: native conversion (bit masking, sign extension, colour models), encapsulated
        fragments -> frames (basic offset table, one or more fragments per frame), JPEG, RLE
     4. public entry points, frame -> 8-bit image, WSI tile assembly */
#include "mgx_medical.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

/* ------------------------------------------------------------------------------------------------ */
/* 1. helpers                                                                                       */

#define TAG(g, e) (((uint32_t)(g) << 16) | (uint32_t)(e))
#define UNDEF_LEN 0xFFFFFFFFu
#define MAX_DEPTH 24

#define T_ITEM          TAG(0xFFFE, 0xE000)
#define T_ITEM_DELIM    TAG(0xFFFE, 0xE00D)
#define T_SEQ_DELIM     TAG(0xFFFE, 0xE0DD)
#define T_TSUID         TAG(0x0002, 0x0010)
#define T_SOPCLASS      TAG(0x0008, 0x0016)
#define T_MODALITY      TAG(0x0008, 0x0060)
#define T_SERIES_DESC   TAG(0x0008, 0x103E)
#define T_SERIES_UID    TAG(0x0020, 0x000E)
#define T_THICKNESS     TAG(0x0018, 0x0050)
#define T_SLICESPACING  TAG(0x0018, 0x0088)
#define T_INSTANCE      TAG(0x0020, 0x0013)
#define T_POSITION      TAG(0x0020, 0x0032)
#define T_ORIENTATION   TAG(0x0020, 0x0037)
#define T_DIMORG        TAG(0x0020, 0x9311)
#define T_SAMPLES       TAG(0x0028, 0x0002)
#define T_PHOTOMETRIC   TAG(0x0028, 0x0004)
#define T_PLANAR        TAG(0x0028, 0x0006)
#define T_FRAMES        TAG(0x0028, 0x0008)
#define T_ROWS          TAG(0x0028, 0x0010)
#define T_COLS          TAG(0x0028, 0x0011)
#define T_SPACING       TAG(0x0028, 0x0030)
#define T_BITS_ALLOC    TAG(0x0028, 0x0100)
#define T_BITS_STORED   TAG(0x0028, 0x0101)
#define T_HIGH_BIT      TAG(0x0028, 0x0102)
#define T_PIXREP        TAG(0x0028, 0x0103)
#define T_WCENTER       TAG(0x0028, 0x1050)
#define T_WWIDTH        TAG(0x0028, 0x1051)
#define T_INTERCEPT     TAG(0x0028, 0x1052)
#define T_SLOPE         TAG(0x0028, 0x1053)
#define T_TOTAL_COLS    TAG(0x0048, 0x0006)
#define T_TOTAL_ROWS    TAG(0x0048, 0x0007)
#define T_COLPOS        TAG(0x0048, 0x021E)
#define T_ROWPOS        TAG(0x0048, 0x021F)
#define T_SHARED_FG     TAG(0x5200, 0x9229)
#define T_PERFRAME_FG   TAG(0x5200, 0x9230)
#define T_PIXEL_DATA    TAG(0x7FE0, 0x0010)

/* Implicit VR dictionary: only the tags this reader interprets, plus the sequences it descends into. */
typedef struct { uint32_t tag; char vr[3]; } dict_entry;
static const dict_entry k_dict[] = {
    {T_TSUID, "UI"}, {T_SOPCLASS, "UI"}, {T_MODALITY, "CS"}, {T_SERIES_DESC, "LO"}, {T_SERIES_UID, "UI"}, {T_THICKNESS, "DS"}, {T_SLICESPACING, "DS"},
    {T_INSTANCE, "IS"}, {T_POSITION, "DS"}, {T_ORIENTATION, "DS"}, {T_DIMORG, "CS"},
    {T_SAMPLES, "US"}, {T_PHOTOMETRIC, "CS"}, {T_PLANAR, "US"}, {T_FRAMES, "IS"}, {T_ROWS, "US"},
    {T_COLS, "US"}, {T_SPACING, "DS"}, {T_BITS_ALLOC, "US"}, {T_BITS_STORED, "US"}, {T_HIGH_BIT, "US"},
    {T_PIXREP, "US"}, {T_WCENTER, "DS"}, {T_WWIDTH, "DS"}, {T_INTERCEPT, "DS"}, {T_SLOPE, "DS"},
    {T_TOTAL_COLS, "UL"}, {T_TOTAL_ROWS, "UL"}, {T_COLPOS, "SL"}, {T_ROWPOS, "SL"},
    {T_SHARED_FG, "SQ"}, {T_PERFRAME_FG, "SQ"}, {T_PIXEL_DATA, "OW"},
    {TAG(0x0020, 0x9111), "SQ"}, /* FrameContentSequence */
    {TAG(0x0020, 0x9113), "SQ"}, /* PlanePositionSequence */
    {TAG(0x0020, 0x9116), "SQ"}, /* PlaneOrientationSequence */
    {TAG(0x0028, 0x9110), "SQ"}, /* PixelMeasuresSequence */
    {TAG(0x0028, 0x9132), "SQ"}, /* FrameVOILUTSequence */
    {TAG(0x0028, 0x9145), "SQ"}, /* PixelValueTransformationSequence */
    {TAG(0x0048, 0x021A), "SQ"}, /* PlanePositionSlideSequence */
    {TAG(0x0008, 0x1140), "SQ"}, /* ReferencedImageSequence */
    {TAG(0x0008, 0x1115), "SQ"}, /* ReferencedSeriesSequence */
    {TAG(0x0008, 0x9215), "SQ"}, /* DerivationCodeSequence */
    {TAG(0x0088, 0x0200), "SQ"}, /* IconImageSequence */
    {TAG(0x0040, 0x0275), "SQ"}, /* RequestAttributesSequence */
};

static const char *dict_vr(uint32_t tag) {
    size_t i;
    for (i = 0; i < sizeof k_dict / sizeof k_dict[0]; i++)
        if (k_dict[i].tag == tag) return k_dict[i].vr;
    return NULL;
}

static const char *const k_vrs[] = {
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
    "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};

static int vr_known(const unsigned char *v) {
    size_t i;
    for (i = 0; i < sizeof k_vrs / sizeof k_vrs[0]; i++)
        if (v[0] == (unsigned char)k_vrs[i][0] && v[1] == (unsigned char)k_vrs[i][1]) return 1;
    return 0;
}

/* VRs whose explicit encoding has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
static int vr_long(const char *v) {
    static const char *const l[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN", "SV", "UV"};
    size_t i;
    for (i = 0; i < sizeof l / sizeof l[0]; i++)
        if (v[0] == l[i][0] && v[1] == l[i][1]) return 1;
    return 0;
}

static uint16_t rd16(const unsigned char *p, int big) {
    return big ? (uint16_t)((p[0] << 8) | p[1]) : (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t rd32(const unsigned char *p, int big) {
    return big ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
               : ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

static int mul_sz(size_t a, size_t b, size_t *r) {
    if (a && b > (size_t)-1 / a) return -1;
    *r = a * b;
    return 0;
}

/* Locale-independent decimal parser for DS / IS values: [spaces] [+-] digits [. digits] [eE [+-] digits].
   Digits are gathered into an integer mantissa and scaled once by an exact power of ten, so values like
   "0.75" come out as the nearest double (as strtod gives). Returns the characters consumed (0: no number). */
static size_t parse_decimal(const char *s, size_t n, double *out) {
    static const double p10[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
                                   1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    double mant = 0, v;
    int neg = 0, digits = 0, exp10 = 0, ex = 0, eneg = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) { neg = s[i] == '-'; i++; }
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (mant < 1e17) mant = mant * 10 + (s[i] - '0'); else exp10++;
        i++; digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (mant < 1e17) { mant = mant * 10 + (s[i] - '0'); exp10--; }
            i++; digits++;
        }
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        int ed = 0;
        if (j < n && (s[j] == '+' || s[j] == '-')) { eneg = s[j] == '-'; j++; }
        while (j < n && s[j] >= '0' && s[j] <= '9') { if (ex < 10000) ex = ex * 10 + (s[j] - '0'); j++; ed = 1; }
        if (ed) { i = j; exp10 += eneg ? -ex : ex; }
    }
    if (exp10 == 0) v = mant;
    else if (exp10 < 0 && exp10 >= -22) v = mant / p10[-exp10];
    else if (exp10 > 0 && exp10 <= 22) v = mant * p10[exp10];
    else v = mant * pow(10.0, exp10);
    *out = neg ? -v : v;
    return i;
}

/* Parses up to maxn backslash-separated decimal values; returns how many were read. */
static int parse_ds(const unsigned char *p, size_t n, double *vals, int maxn) {
    int k = 0;
    size_t i = 0;
    while (k < maxn && i <= n) {
        size_t j = i, used;
        double v;
        while (j < n && p[j] != '\\') j++;
        used = parse_decimal((const char *)p + i, j - i, &v);
        if (!used || !isfinite(v)) break;
        vals[k++] = v;
        if (j >= n) break;
        i = j + 1;
    }
    return k;
}

/* Copies a string value, dropping leading/trailing spaces and NULs; keeps only the first value. */
static void get_str(const unsigned char *p, size_t n, char *out, size_t outsz) {
    size_t a = 0, b = n, k = 0;
    while (a < b && (p[a] == ' ' || p[a] == 0)) a++;
    while (b > a && (p[b - 1] == ' ' || p[b - 1] == 0)) b--;
    for (; a < b && k + 1 < outsz; a++) {
        if (p[a] == '\\') break;
        out[k++] = (p[a] >= 32 && p[a] < 127) ? (char)p[a] : '?';
    }
    out[k] = 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* 2. the data-set parser                                                                           */

/* The bytes of a data set. A deflated data set is inflated on demand (avail() asks for more), so p and n
   grow while the walk proceeds: offsets stay valid, pointers are re-read after every avail(). */
typedef struct {
    const unsigned char *p;
    size_t n;
    mgx_inflater *z;          /* NULL: all n bytes are there */
    char zerr[160];           /* the inflater's message when the stream is corrupt */
} dsrc;

typedef struct {
    dsrc *s;
    int big, explicit_vr;
} dbuf;

#define NO_END ((size_t)-1)   /* the end of a data set whose length is not known yet */

/* 1 when the k bytes at pos lie before end and exist, inflating more of a deflated data set when needed. */
static int avail(const dbuf *b, size_t pos, size_t k, size_t end) {
    dsrc *s = b->s;
    size_t have;
    if (pos > end || k > end - pos) return 0;
    if (pos <= s->n && k <= s->n - pos) return 1;
    if (!s->z || s->zerr[0] || k > NO_END - pos) return 0;
    if (mgx_inflate_more(s->z, pos + k, s->zerr, sizeof s->zerr)) return 0;
    s->p = mgx_inflate_data(s->z, &have, NULL);
    s->n = have;
    return pos <= have && k <= have - pos;
}

enum { CTX_TOP, CTX_SHARED, CTX_PERFRAME, CTX_SKIP };

typedef struct {
    int kind;    /* CTX_* */
    int frame;   /* per-frame item index */
    int level;   /* inside a functional group: 1 = the group item, 2 = a macro's item */
} dctx;

/* the values one functional-group context can carry */
typedef struct {
    double slope, intercept; int has_slope, has_intercept;
    double wc, ww; int has_wc, has_ww;
    double spacing[2]; int has_spacing;
    double thickness; int has_thickness;
    double slice_spacing; int has_slice_spacing;
    double orientation[6]; int has_orientation;
    double position[3]; int has_position;
    long col, row; int has_col, has_row;
} fg_vals;

typedef struct {
    mgx_dicom *d;
    char *err; size_t errsz;
    fg_vals top, shared;
    fg_vals *pf; int npf;           /* per-frame values, npf = frames when allocated */
    int has_rows, has_cols, has_bits_alloc, has_bits_stored, has_high_bit, has_frames, has_samples;
    char dimorg[17];
    /* pixel data */
    int has_pixels, pix_undefined;
    size_t pix_off, pix_len;
    const dbuf *pix_buf;
} dstate;

typedef struct {
    uint32_t tag, len;
    char vr[3];        /* "" in implicit VR for tags not in the dictionary */
    size_t val;        /* offset of the value */
} delem;

static int derr_tag(dstate *st, uint32_t tag, const char *what) {
    return mgx_errf(st->err, st->errsz, "DICOM: element (%04X,%04X): %s", (unsigned)(tag >> 16),
                    (unsigned)(tag & 0xFFFF), what);
}

/* Reads an element header at pos (which must be < end). Item tags (FFFE,xxxx) never carry a VR. */
static int read_header(dstate *st, const dbuf *b, size_t pos, size_t end, delem *e) {
    const unsigned char *q;
    if (!avail(b, pos, 8, end)) return mgx_errf(st->err, st->errsz, "DICOM: truncated element header at offset %lu", (unsigned long)pos);
    q = b->s->p + pos;
    e->tag = TAG(rd16(q, b->big), rd16(q + 2, b->big));
    e->vr[0] = e->vr[1] = e->vr[2] = 0;
    if ((e->tag >> 16) == 0xFFFE || !b->explicit_vr) {
        const char *v = (e->tag >> 16) == 0xFFFE ? NULL : dict_vr(e->tag);
        if (v) { e->vr[0] = v[0]; e->vr[1] = v[1]; }
        e->len = rd32(q + 4, b->big);
        e->val = pos + 8;
        return 0;
    }
    if (!vr_known(q + 4)) {
        char m[64];
        unsigned c0 = q[4], c1 = q[5];
        snprintf(m, sizeof m, "invalid value representation bytes %02X %02X", c0, c1);
        return derr_tag(st, e->tag, m);
    }
    e->vr[0] = (char)q[4]; e->vr[1] = (char)q[5];
    if (vr_long(e->vr)) {
        if (!avail(b, pos, 12, end)) return mgx_errf(st->err, st->errsz, "DICOM: truncated element header at offset %lu", (unsigned long)pos);
        e->len = rd32(b->s->p + pos + 8, b->big);
        e->val = pos + 12;
    } else {
        e->len = rd16(q + 6, b->big);
        e->val = pos + 8;
    }
    return 0;
}

/* Integer value of a US/SS/UL/SL/IS/DS element (the VR tells the encoding). */
static int get_int(dstate *st, const dbuf *b, const delem *e, long *out) {
    const unsigned char *v = b->s->p + e->val;
    const char *vr = e->vr;
    int big = b->big;
    if (vr[0] == 'U' && vr[1] == 'N') { vr = dict_vr(e->tag); big = 0; if (!vr) vr = "UN"; }
    if (!strcmp(vr, "US") && e->len >= 2) { *out = rd16(v, big); return 0; }
    if (!strcmp(vr, "SS") && e->len >= 2) { *out = (int16_t)rd16(v, big); return 0; }
    if (!strcmp(vr, "UL") && e->len >= 4) { uint32_t x = rd32(v, big); *out = x > 0x7FFFFFFFu ? 0x7FFFFFFFL : (long)x; return 0; }
    if (!strcmp(vr, "SL") && e->len >= 4) { uint32_t x = rd32(v, big); *out = (long)(int32_t)x; return 0; }
    if (!strcmp(vr, "IS") || !strcmp(vr, "DS")) {
        double x;
        if (parse_ds(v, e->len, &x, 1) == 1 && x > -2147483648.0 && x < 2147483648.0) { *out = (long)x; return 0; }
    }
    return derr_tag(st, e->tag, "cannot read an integer value");
}

static int get_doubles(const dbuf *b, const delem *e, double *vals, int maxn) {
    const char *vr = e->vr;
    if (!strcmp(vr, "FD") && e->len >= 8 && maxn > 0) {
        int k, n = (int)(e->len / 8) < maxn ? (int)(e->len / 8) : maxn;
        for (k = 0; k < n; k++) {
            uint64_t u = 0; int j; double x;
            for (j = 0; j < 8; j++) u |= (uint64_t)b->s->p[e->val + (size_t)k * 8 + (size_t)j] << (b->big ? 8 * (7 - j) : 8 * j);
            memcpy(&x, &u, 8);
            if (!isfinite(x)) return k;
            vals[k] = x;
        }
        return n;
    }
    return parse_ds(b->s->p + e->val, e->len, vals, maxn);
}

/* Stores one attribute in the right place. Only called for elements of defined length within bounds. */
static int store_value(dstate *st, const dbuf *b, const delem *e, const dctx *c) {
    mgx_dicom *d = st->d;
    fg_vals *fv;
    double v[6];
    long x;
    int k;
    if (c->kind == CTX_SKIP) return 0;
    if (c->kind == CTX_TOP) {
        fv = &st->top;
        switch (e->tag) {
        case T_SOPCLASS: get_str(b->s->p + e->val, e->len, d->sop_class, sizeof d->sop_class); return 0;
        case T_MODALITY: get_str(b->s->p + e->val, e->len, d->modality, sizeof d->modality); return 0;
        case T_SERIES_UID: get_str(b->s->p + e->val, e->len, d->series_uid, sizeof d->series_uid); return 0;
        case T_SERIES_DESC: get_str(b->s->p + e->val, e->len, d->series_description, sizeof d->series_description); return 0;
        case T_PHOTOMETRIC: get_str(b->s->p + e->val, e->len, d->photometric, sizeof d->photometric); return 0;
        case T_DIMORG: get_str(b->s->p + e->val, e->len, st->dimorg, sizeof st->dimorg); return 0;
        case T_INSTANCE:
            if (e->len && get_int(st, b, e, &x) == 0) { d->instance_number = (int)x; d->has_instance = 1; }
            return 0;  /* an unreadable InstanceNumber is treated as absent */
        case T_ROWS: case T_COLS: case T_SAMPLES: case T_PLANAR: case T_BITS_ALLOC: case T_BITS_STORED:
        case T_HIGH_BIT: case T_PIXREP: case T_FRAMES: case T_TOTAL_COLS: case T_TOTAL_ROWS:
            if (!e->len) return 0;  /* empty (type 2) */
            if (get_int(st, b, e, &x)) return -1;
            if (e->tag == T_FRAMES) {
                if (x < 1 || x > MGX_MAX_DICOM_FRAMES)
                    return mgx_errf(st->err, st->errsz, "DICOM: NumberOfFrames %ld outside 1..%d", x, MGX_MAX_DICOM_FRAMES);
                d->frames = (int)x; st->has_frames = 1;
                return 0;
            }
            if (x < 0 || x > 0x7FFFFFFFL) x = -1;
            switch (e->tag) {
            case T_ROWS: d->rows = (int)x; st->has_rows = 1; break;
            case T_COLS: d->cols = (int)x; st->has_cols = 1; break;
            case T_SAMPLES: d->samples = (int)x; st->has_samples = 1; break;
            case T_PLANAR: d->planar_configuration = (int)x; break;
            case T_BITS_ALLOC: d->bits_allocated = (int)x; st->has_bits_alloc = 1; break;
            case T_BITS_STORED: d->bits_stored = (int)x; st->has_bits_stored = 1; break;
            case T_HIGH_BIT: d->high_bit = (int)x; st->has_high_bit = 1; break;
            case T_PIXREP: d->pixel_representation = (int)x; break;
            case T_TOTAL_COLS: d->total_cols = x > 0 && x <= 1000000000L ? (int)x : 0; break;
            case T_TOTAL_ROWS: d->total_rows = x > 0 && x <= 1000000000L ? (int)x : 0; break;
            default: break;
            }
            return 0;
        default: break;
        }
    } else if (c->kind == CTX_SHARED) {
        if (c->level != 2) return 0;
        fv = &st->shared;
    } else {
        if (c->level != 2 || !st->pf || c->frame < 0 || c->frame >= st->npf) return 0;
        fv = &st->pf[c->frame];
    }
    /* attributes that may come from the top level or a functional-group macro */
    switch (e->tag) {
    case T_SLOPE: if (get_doubles(b, e, v, 1) == 1) { fv->slope = v[0]; fv->has_slope = 1; } break;
    case T_INTERCEPT: if (get_doubles(b, e, v, 1) == 1) { fv->intercept = v[0]; fv->has_intercept = 1; } break;
    case T_WCENTER: if (get_doubles(b, e, v, 1) == 1) { fv->wc = v[0]; fv->has_wc = 1; } break;
    case T_WWIDTH: if (get_doubles(b, e, v, 1) == 1) { fv->ww = v[0]; fv->has_ww = 1; } break;
    case T_SPACING:
        if (get_doubles(b, e, v, 2) == 2) { fv->spacing[0] = v[0]; fv->spacing[1] = v[1]; fv->has_spacing = 1; }
        break;
    case T_THICKNESS: if (get_doubles(b, e, v, 1) == 1) { fv->thickness = v[0]; fv->has_thickness = 1; } break;
    case T_SLICESPACING: if (get_doubles(b, e, v, 1) == 1) { fv->slice_spacing = v[0]; fv->has_slice_spacing = 1; } break;
    case T_ORIENTATION:
        if (get_doubles(b, e, v, 6) == 6) { for (k = 0; k < 6; k++) fv->orientation[k] = v[k]; fv->has_orientation = 1; }
        break;
    case T_POSITION:
        if (get_doubles(b, e, v, 3) == 3) { for (k = 0; k < 3; k++) fv->position[k] = v[k]; fv->has_position = 1; }
        break;
    case T_COLPOS: if (e->len && get_int(st, b, e, &x) == 0) { fv->col = x; fv->has_col = 1; } break;
    case T_ROWPOS: if (e->len && get_int(st, b, e, &x) == 0) { fv->row = x; fv->has_row = 1; } break;
    default: break;
    }
    return 0;
}

static int parse_dataset(dstate *st, const dbuf *b, size_t *pos, size_t end, int until_delim, int depth, dctx c);

/* The context of the items of sequence `tag` met in context `c`. */
static dctx child_ctx(dstate *st, uint32_t tag, dctx c, int item_index) {
    dctx r;
    r.kind = CTX_SKIP; r.frame = 0; r.level = 0;
    if (c.kind == CTX_TOP) {
        if (tag == T_SHARED_FG) { r.kind = CTX_SHARED; r.level = 1; }
        else if (tag == T_PERFRAME_FG) {
            r.kind = CTX_PERFRAME; r.level = 1; r.frame = item_index;
            /* allocate the per-frame table on first use */
            if (!st->pf && st->npf == 0) {
                int nf = st->d->frames > 0 ? st->d->frames : 1;
                st->pf = (fg_vals *)MGX_MALLOC((size_t)nf * sizeof(fg_vals));
                if (st->pf) memset(st->pf, 0, (size_t)nf * sizeof(fg_vals));
                st->npf = st->pf ? nf : -1;
            }
        }
    } else if ((c.kind == CTX_SHARED || c.kind == CTX_PERFRAME) && c.level == 1) {
        r = c; r.level = 2;
    }
    return r;
}

/* Skips the fragments of an encapsulated pixel data element found inside a nested data set (icons). */
static int skip_fragments(dstate *st, const dbuf *b, size_t *pos, size_t end) {
    for (;;) {
        uint32_t tag, len;
        if (!avail(b, *pos, 8, end)) return mgx_errf(st->err, st->errsz, "DICOM: encapsulated data truncated at offset %lu", (unsigned long)*pos);
        tag = TAG(rd16(b->s->p + *pos, b->big), rd16(b->s->p + *pos + 2, b->big));
        len = rd32(b->s->p + *pos + 4, b->big);
        *pos += 8;
        if (tag == T_SEQ_DELIM) return 0;
        if (tag != T_ITEM) return derr_tag(st, tag, "unexpected tag among encapsulated fragments");
        if (len == UNDEF_LEN || !avail(b, *pos, len, end)) return mgx_errf(st->err, st->errsz, "DICOM: fragment length runs past the end of the data");
        *pos += len;
    }
}

/* Parses the items of a sequence whose value starts at *pos. */
static int parse_sequence(dstate *st, const dbuf *b, size_t *pos, size_t end, uint32_t seq_tag, uint32_t len,
                          int depth, dctx c) {
    size_t seq_end = end;
    int index = 0;
    if (depth >= MAX_DEPTH) return derr_tag(st, seq_tag, "sequences nested too deeply");
    if (len != UNDEF_LEN) seq_end = *pos + len;  /* the caller checked that the len bytes are there */
    for (;;) {
        uint32_t tag, ilen;
        dctx ic;
        if (len != UNDEF_LEN && *pos >= seq_end) break;
        if (!avail(b, *pos, 8, seq_end)) return derr_tag(st, seq_tag, "sequence truncated");
        tag = TAG(rd16(b->s->p + *pos, b->big), rd16(b->s->p + *pos + 2, b->big));
        ilen = rd32(b->s->p + *pos + 4, b->big);
        *pos += 8;
        if (tag == T_SEQ_DELIM) {
            if (len == UNDEF_LEN) return 0;
            return derr_tag(st, seq_tag, "sequence delimiter inside a sequence of defined length");
        }
        if (tag != T_ITEM) return derr_tag(st, seq_tag, "sequence contains something other than items");
        ic = child_ctx(st, seq_tag, c, index);
        if (ic.kind == CTX_PERFRAME && st->npf < 0) return mgx_errf(st->err, st->errsz, "DICOM: out of memory");
        if (ilen == UNDEF_LEN) {
            if (parse_dataset(st, b, pos, seq_end, 1, depth + 1, ic)) return -1;
        } else {
            size_t item_end;
            if (!avail(b, *pos, ilen, seq_end)) return derr_tag(st, seq_tag, "item length runs past the end of its sequence");
            item_end = *pos + ilen;
            if (parse_dataset(st, b, pos, item_end, 0, depth + 1, ic)) return -1;
            *pos = item_end;
        }
        if (index < 0x7FFFFFFF) index++;
    }
    return 0;
}

/* Parses elements from *pos to end (or to an item delimiter when until_delim). At the top level it stops
   at the pixel data (remembering where it is): nothing after it matters here. Returns 0, or -1. */
static int parse_dataset(dstate *st, const dbuf *b, size_t *pos, size_t end, int until_delim, int depth, dctx c) {
    while (avail(b, *pos, 1, end)) {
        delem e;
        int is_sq;
        if (c.kind == CTX_TOP && depth == 0 && !avail(b, *pos, 8, end)) {
            /* a few stray bytes at the very end of a file (padding) */
            *pos = b->s->n < end ? b->s->n : end;
            break;
        }
        if (read_header(st, b, *pos, end, &e)) return -1;
        if ((e.tag >> 16) == 0xFFFE) {
            if (e.tag == T_ITEM_DELIM && until_delim) { *pos = e.val; return 0; }
            if (e.tag == T_SEQ_DELIM && depth == 0 && e.len == 0) { *pos = e.val; continue; } /* stray, tolerated */
            return derr_tag(st, e.tag, "unexpected item or delimiter tag");
        }
        is_sq = (e.vr[0] == 'S' && e.vr[1] == 'Q');
        if (e.len == UNDEF_LEN) {
            *pos = e.val;
            if (e.tag == T_PIXEL_DATA) {
                if (c.kind == CTX_TOP && depth == 0) {
                    st->has_pixels = 1; st->pix_undefined = 1; st->pix_off = e.val; st->pix_len = b->s->n - e.val;
                    st->pix_buf = b;
                    return 0;
                }
                if (skip_fragments(st, b, pos, end)) return -1;
                continue;
            }
            if (e.vr[0] == 'U' && e.vr[1] == 'N') {
                /* UN of undefined length: a sequence encoded in implicit VR little endian (PS3.5 6.2.2) */
                dbuf ib = *b;
                ib.big = 0; ib.explicit_vr = 0;
                if (parse_sequence(st, &ib, pos, end, e.tag, UNDEF_LEN, depth, c)) return -1;
                continue;
            }
            if (!is_sq && b->explicit_vr) return derr_tag(st, e.tag, "undefined length outside a sequence or pixel data");
            /* implicit VR: an unknown tag of undefined length can only be a sequence */
            if (parse_sequence(st, b, pos, end, e.tag, UNDEF_LEN, depth, c)) return -1;
            continue;
        }
        /* the pixel data of a deflated data set is inflated only when frames are decoded */
        if (e.tag == T_PIXEL_DATA && c.kind == CTX_TOP && depth == 0 && b->s->z) {
            st->has_pixels = 1; st->pix_undefined = 0; st->pix_off = e.val; st->pix_len = e.len;
            st->pix_buf = b;
            return 0;
        }
        if (!avail(b, e.val, e.len, end)) {
            char m[96];
            size_t left = b->s->n < end ? b->s->n : end;
            if (b->s->zerr[0]) return mgx_errf(st->err, st->errsz, "DICOM: deflated data set: %s", b->s->zerr);
            snprintf(m, sizeof m, "length %lu runs past the end of the data (%lu bytes left)", (unsigned long)e.len,
                     (unsigned long)(left > e.val ? left - e.val : 0));
            return derr_tag(st, e.tag, m);
        }
        *pos = e.val;
        if (e.tag == T_PIXEL_DATA && c.kind == CTX_TOP && depth == 0) {
            st->has_pixels = 1; st->pix_undefined = 0; st->pix_off = e.val; st->pix_len = e.len;
            st->pix_buf = b;
            *pos = e.val + e.len;
            return 0;
        }
        if (is_sq) {
            if (parse_sequence(st, b, pos, end, e.tag, e.len, depth, c)) return -1;
            *pos = e.val + e.len;
            continue;
        }
        if (store_value(st, b, &e, &c)) return -1;
        *pos = e.val + e.len;
    }
    if (until_delim) return mgx_errf(st->err, st->errsz, "DICOM: item of undefined length has no delimiter");
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* 3. pixel data                                                                                    */

typedef struct {
    int bytes;        /* bytes per sample: 1, 2 or 4 */
    int big;
    int bits_stored, high_bit, is_signed;
    int samples, planar;
    int color;        /* 0 grey, 1 RGB, 2 YBR_FULL, 3 YBR_FULL_422 */
} layout;

static uint32_t raw_sample(const unsigned char *p, int bytes, int big) {
    if (bytes == 1) return p[0];
    if (bytes == 2) return rd16(p, big);
    return rd32(p, big);
}

/* Stored value: shift so the high bit is at bits_stored-1, mask, sign-extend. */
static double stored_value(uint32_t raw, const layout *L) {
    int shift = L->high_bit + 1 - L->bits_stored;
    uint32_t v = raw >> shift;
    if (L->bits_stored < 32) v &= ((uint32_t)1 << L->bits_stored) - 1u;
    if (L->is_signed) {
        if (L->bits_stored < 32 && (v >> (L->bits_stored - 1)) & 1u) return (double)v - (double)((uint64_t)1 << L->bits_stored);
        if (L->bits_stored == 32) return (double)(int32_t)v;
    }
    return (double)v;
}

static float clamp255(double x) {
    if (!(x >= 0)) return 0;
    if (x > 255) return 255;
    return (float)x;
}

/* Converts one frame of native samples (src holds exactly what the layout needs) to floats. */
/* A grey sample in modality units, inside float range. */
static float grey_value(uint32_t raw, const layout *L, double slope, double inter) {
    double v = stored_value(raw, L) * slope + inter;
    if (!(v <= 3.4e38)) v = 3.4e38;      /* keep huge rescales inside float range */
    if (!(v >= -3.4e38)) v = -3.4e38;
    return (float)v;
}

/* 8-bit grey samples through a table of their 256 values (the same grey_value for each). */
static void convert_grey8(const unsigned char *src, const layout *L, size_t npix, double slope, double inter, float *out) {
    float t[256];
    size_t i;
    for (i = 0; i < 256; i++) t[i] = grey_value((uint32_t)i, L, slope, inter);
    for (i = 0; i < npix; i++) out[i] = t[src[i]];
}

static void convert_frame(const unsigned char *src, const layout *L, size_t npix, double slope, double inter, float *out) {
    size_t i;
    if (L->color == 0) {
        if (L->bytes == 1 && npix >= 1024) { convert_grey8(src, L, npix, slope, inter, out); return; }
        for (i = 0; i < npix; i++) out[i] = grey_value(raw_sample(src + i * (size_t)L->bytes, L->bytes, L->big), L, slope, inter);
        return;
    }
    if (L->color == 3) {  /* YBR_FULL_422: Y1 Y2 Cb Cr for each pair of pixels (8-bit only) */
        for (i = 0; i < npix; i += 2) {
            const unsigned char *q = src + (i / 2) * 4;
            double cb = q[2] - 128.0, cr = q[3] - 128.0;
            int k;
            for (k = 0; k < 2 && i + (size_t)k < npix; k++) {
                double y = q[k];
                float *o = out + (i + (size_t)k) * 3;
                o[0] = clamp255(floor(y + 1.402 * cr + 0.5));
                o[1] = clamp255(floor(y - 0.344136 * cb - 0.714136 * cr + 0.5));
                o[2] = clamp255(floor(y + 1.772 * cb + 0.5));
            }
        }
        return;
    }
    {
        double maxv = L->bits_stored >= 32 ? 4294967295.0 : (double)(((uint64_t)1 << L->bits_stored) - 1);
        double scale = L->bits_stored > 8 ? 255.0 / maxv : 1.0;
        layout U = *L;
        U.is_signed = 0;
        for (i = 0; i < npix; i++) {
            double s[3];
            int k;
            for (k = 0; k < 3; k++) {
                size_t idx = L->planar ? (size_t)k * npix + i : i * 3 + (size_t)k;
                s[k] = stored_value(raw_sample(src + idx * (size_t)L->bytes, L->bytes, L->big), &U);
            }
            if (L->color == 2) {  /* YBR_FULL -> RGB (PS3.3 C.7.6.3.1.2) */
                double y = s[0], cb = s[1] - 128.0, cr = s[2] - 128.0;
                out[i * 3 + 0] = clamp255(floor(y + 1.402 * cr + 0.5));
                out[i * 3 + 1] = clamp255(floor(y - 0.344136 * cb - 0.714136 * cr + 0.5));
                out[i * 3 + 2] = clamp255(floor(y + 1.772 * cb + 0.5));
            } else {
                for (k = 0; k < 3; k++) out[i * 3 + (size_t)k] = clamp255(L->bits_stored > 8 ? floor(s[k] * scale + 0.5) : s[k]);
            }
        }
    }
}

/* Encapsulated-syntax classification */
enum { TS_NATIVE, TS_JPEG, TS_RLE, TS_ENCAP_RAW };

typedef struct { const char *uid; const char *name; } ts_name;
static const ts_name k_unsupported[] = {
    {"1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5, retired)"},
    {"1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (retired)"},
    {"1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (retired)"},
    {"1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (retired)"},
    {"1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (retired)"},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"},
    {"1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15, retired)"},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless, First-Order Prediction (Process 14 SV1)"},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000"},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Lossless"},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component"},
    {"1.2.840.10008.1.2.4.94", "JPIP Referenced"},
    {"1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate"},
    {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile"},
    {"1.2.840.10008.1.2.4.101", "MPEG2 High Profile"},
    {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264"},
    {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible"},
    {"1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 for 2D video"},
    {"1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 for 3D video"},
    {"1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo"},
    {"1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile"},
    {"1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile"},
    {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Lossless"},
    {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 (RPCL) Lossless"},
    {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"},
    {"1.2.840.10008.1.2.4.204", "JPIP HTJ2K Referenced"},
    {"1.2.840.10008.1.2.4.205", "JPIP HTJ2K Referenced Deflate"},
    {"1.2.840.10008.1.2.6.1", "RFC 2557 MIME Encapsulation"},
    {"1.2.840.10008.1.2.6.2", "XML Encoding"},
};

typedef struct { size_t off, len, item_off; } frag;

/* Collects the fragments of encapsulated pixel data (offsets into b). The first item (basic offset
   table) goes to *bot / *bot_len. */
static int collect_fragments(dstate *st, const dbuf *b, size_t pos, size_t end, size_t *bot, size_t *bot_len,
                             frag **out, size_t *nout) {
    frag *v = NULL;
    size_t n = 0, cap = 0;
    int first = 1;
    size_t base = 0;
    *out = NULL; *nout = 0;
    for (;;) {
        uint32_t tag, len;
        if (pos == end) break;  /* missing sequence delimiter at the very end: tolerated */
        if (end - pos < 8) { MGX_FREE(v); return mgx_errf(st->err, st->errsz, "DICOM: encapsulated pixel data truncated"); }
        tag = TAG(rd16(b->s->p + pos, b->big), rd16(b->s->p + pos + 2, b->big));
        len = rd32(b->s->p + pos + 4, b->big);
        if (tag == T_SEQ_DELIM) break;
        if (tag != T_ITEM) { MGX_FREE(v); return derr_tag(st, tag, "unexpected tag among encapsulated pixel data fragments"); }
        if (len == UNDEF_LEN || len > end - pos - 8) {
            MGX_FREE(v);
            return mgx_errf(st->err, st->errsz, "DICOM: pixel data fragment of %lu bytes runs past the end of the data",
                            (unsigned long)len);
        }
        if (first) {
            *bot = pos + 8; *bot_len = len; first = 0;
            base = pos + 8 + len;
        } else {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                frag *nv = (frag *)MGX_REALLOC(v, nc * sizeof(frag));
                if (!nv) { MGX_FREE(v); return mgx_errf(st->err, st->errsz, "DICOM: out of memory"); }
                v = nv; cap = nc;
            }
            v[n].off = pos + 8; v[n].len = len; v[n].item_off = pos - base;
            n++;
        }
        pos += 8 + (size_t)len;
    }
    if (first) return mgx_errf(st->err, st->errsz, "DICOM: encapsulated pixel data has no basic offset table item");
    *out = v; *nout = n;
    return 0;
}

/* Maps fragments to frames: first[f] = index of the first fragment of frame f, first[frames] = nfrag. */
static int map_frames(dstate *st, const dbuf *b, int ts_kind, int frames, const frag *fr, size_t nfrag, size_t bot,
                      size_t bot_len, size_t *first) {
    size_t f, k;
    if (nfrag == 0) return mgx_errf(st->err, st->errsz, "DICOM: encapsulated pixel data has no fragments");
    if (nfrag < (size_t)frames)
        return mgx_errf(st->err, st->errsz, "DICOM: %lu fragments for %d frames", (unsigned long)nfrag, frames);
    first[frames] = nfrag;
    if (frames == 1) { first[0] = 0; return 0; }
    if (nfrag == (size_t)frames) {
        for (f = 0; f < (size_t)frames; f++) first[f] = f;
        return 0;
    }
    /* the basic offset table, when it has one entry per frame that each land on a fragment */
    if (bot_len >= (size_t)frames * 4) {
        int ok = 1;
        k = 0;
        for (f = 0; f < (size_t)frames && ok; f++) {
            uint32_t o = rd32(b->s->p + bot + f * 4, b->big);
            while (k < nfrag && fr[k].item_off < o) k++;
            if (k >= nfrag || fr[k].item_off != o || (f > 0 && k <= first[f - 1]) || (f == 0 && k != 0)) ok = 0;
            else first[f] = k;
        }
        if (ok) return 0;
    }
    /* else a JPEG start-of-image marker begins each frame */
    if (ts_kind == TS_JPEG) {
        size_t nf = 0;
        for (k = 0; k < nfrag; k++) {
            if (fr[k].len >= 2 && b->s->p[fr[k].off] == 0xFF && b->s->p[fr[k].off + 1] == 0xD8) {
                if (nf < (size_t)frames) first[nf] = k;
                nf++;
            }
        }
        if (nf == (size_t)frames && first[0] == 0) return 0;
    }
    return mgx_errf(st->err, st->errsz, "DICOM: cannot tell which of %lu fragments belong to which of %d frames",
                    (unsigned long)nfrag, frames);
}

/* Decodes one RLE segment (PackBits, PS3.5 G.3.1) into exactly n bytes. */
static int rle_segment(const unsigned char *s, size_t len, unsigned char *out, size_t n) {
    size_t i = 0, o = 0;
    while (o < n && i < len) {
        int c = s[i] < 128 ? (int)s[i] : (int)s[i] - 256;
        i++;
        if (c >= 0) {
            size_t k = (size_t)c + 1;
            if (k > len - i || k > n - o) return -1;
            memcpy(out + o, s + i, k);
            i += k; o += k;
        } else if (c != -128) {
            size_t k = (size_t)(1 - c);
            if (i >= len || k > n - o) return -1;
            memset(out + o, s[i++], k);
            o += k;
        }
    }
    return o == n ? 0 : -1;
}

/* Decodes one RLE frame into native little-endian interleaved samples (dst: npix*samples*bytes). */
static int rle_frame(dstate *st, const unsigned char *src, size_t len, const layout *L, size_t npix, unsigned char *dst,
                     unsigned char *plane, int frame) {
    uint32_t nseg, off[16];
    int s, k, want = L->samples * L->bytes;
    if (len < 64) return mgx_errf(st->err, st->errsz, "DICOM: RLE frame %d: header truncated", frame);
    nseg = rd32(src, 0);
    if (nseg != (uint32_t)want)
        return mgx_errf(st->err, st->errsz, "DICOM: RLE frame %d has %lu segments, expected %d", frame, (unsigned long)nseg, want);
    for (k = 0; k < 15; k++) off[k] = rd32(src + 4 + 4 * k, 0);
    for (s = 0; s < want; s++) {
        size_t a = off[s], e = (s + 1 < want) ? off[s + 1] : len;
        size_t i, sample = (size_t)(s / L->bytes), byte = (size_t)(L->bytes - 1 - s % L->bytes);
        if (a < 64 || a > len || e > len || e < a)
            return mgx_errf(st->err, st->errsz, "DICOM: RLE frame %d: bad segment offset", frame);
        if (rle_segment(src + a, e - a, plane, npix))
            return mgx_errf(st->err, st->errsz, "DICOM: RLE frame %d: segment %d is corrupt or short", frame, s);
        for (i = 0; i < npix; i++) dst[(i * (size_t)L->samples + sample) * (size_t)L->bytes + byte] = plane[i];
    }
    return 0;
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static double fg_pick(const fg_vals *pf, const fg_vals *sh, const fg_vals *top, int which, double dflt, int *found) {
    /* which: 0 slope, 1 intercept */
    const fg_vals *srcs[3];
    int i;
    srcs[0] = pf; srcs[1] = sh; srcs[2] = top;
    for (i = 0; i < 3; i++) {
        if (!srcs[i]) continue;
        if (which == 0 && srcs[i]->has_slope) { if (found) *found = 1; return srcs[i]->slope; }
        if (which == 1 && srcs[i]->has_intercept) { if (found) *found = 1; return srcs[i]->intercept; }
    }
    return dflt;
}

/* ------------------------------------------------------------------------------------------------ */
/* 4. public entry points                                                                           */

void mgx_dicom_free(mgx_dicom *d) {
    if (!d) return;
    MGX_FREE(d->data);
    MGX_FREE(d->frame_position);
    MGX_FREE(d->tile_col);
    MGX_FREE(d->tile_row);
    memset(d, 0, sizeof *d);
}

/* Heuristic for data sets without a meta header: do bytes 4..5 of the element at p look like a VR? */
static int looks_explicit(const unsigned char *p, size_t n) {
    return n >= 8 && vr_known(p + 4);
}

int mgx_dicom_probe(const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    if (!p) return 0;
    if (n >= 132 && !memcmp(p + 128, "DICM", 4)) return 1;
    if (n >= 8) {
        uint16_t gl = rd16(p, 0), gb = rd16(p, 1);
        if ((gl == 0x0002 || gl == 0x0008) && rd16(p + 2, 0) < 0x0100) return 1;
        if (gb == 0x0008 && rd16(p + 2, 1) < 0x0100 && looks_explicit(p, n)) return 1;
    }
    return 0;
}

/* What the loading steps share. */
typedef struct {
    dstate st;
    dsrc file;              /* the caller's bytes */
    dsrc infl;              /* a deflated data set, inflated on demand */
    dbuf b;                 /* the data set: b.s is &file or &infl */
    size_t pos;             /* where the data set starts in b */
    int ts_kind;            /* TS_* */
    int flags;
    int first, count;       /* the frames to decode */
    layout L;
    size_t npix, per_frame, total;   /* pixels per frame, values per frame, values of the frames decoded */
} dload;

/* Part 10 preamble and file meta information (group 0002, explicit VR little endian, implicit tolerated):
   leaves the transfer syntax UID in d and x->pos after the group. */
static int read_meta(dload *x, const unsigned char *p, size_t n) {
    dstate *st = &x->st;
    size_t pos = 0;
    if (n >= 132 && !memcmp(p + 128, "DICM", 4)) pos = 132;
    else if (!mgx_dicom_probe(p, n))
        return mgx_errf(st->err, st->errsz, "DICOM: not a DICOM file (no \"DICM\" at offset 128 and no group 0002/0008 element at the start)");
    if (n - pos >= 8 && rd16(p + pos, 0) == 0x0002) {
        dbuf m;
        m.s = &x->file; m.big = 0;
        m.explicit_vr = looks_explicit(p + pos, n - pos);
        while (n - pos >= 8 && rd16(p + pos, 0) == 0x0002) {
            delem e;
            if (read_header(st, &m, pos, n, &e)) return -1;
            if (e.len == UNDEF_LEN || e.len > n - e.val) return derr_tag(st, e.tag, "file meta element length runs past the end of the data");
            if (e.tag == T_TSUID) get_str(p + e.val, e.len, st->d->transfer_syntax, sizeof st->d->transfer_syntax);
            pos = e.val + e.len;
        }
    }
    x->pos = pos;
    return 0;
}

/* Byte order, VR encoding and pixel encapsulation from the transfer syntax (guessed from the first element
   when there is no meta header); a deflated data set gets its inflater (nothing is inflated yet). */
static int select_syntax(dload *x, const unsigned char *p, size_t n) {
    mgx_dicom *d = x->st.d;
    char *err = x->st.err;
    size_t errsz = x->st.errsz, pos = x->pos, i;
    const char *ts = d->transfer_syntax;
    if (!ts[0]) {
        if (n - pos >= 8 && rd16(p + pos, 1) == 0x0008 && rd16(p + pos, 0) != 0x0008) {
            x->b.big = 1;
            strcpy(d->transfer_syntax, "1.2.840.10008.1.2.2");
        } else {
            x->b.explicit_vr = looks_explicit(p + pos, n - pos);
            strcpy(d->transfer_syntax, x->b.explicit_vr ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2");
        }
        return 0;
    }
    if (!strcmp(ts, "1.2.840.10008.1.2")) x->b.explicit_vr = 0;
    else if (!strcmp(ts, "1.2.840.10008.1.2.1")) ;
    else if (!strcmp(ts, "1.2.840.10008.1.2.2")) x->b.big = 1;
    else if (!strcmp(ts, "1.2.840.10008.1.2.1.99")) {
        size_t cap = MGX_MAX_MEDICAL_FILE_BYTES < MGX_MAX_INPUT_BYTES ? MGX_MAX_MEDICAL_FILE_BYTES : (size_t)MGX_MAX_INPUT_BYTES;
        char e2[160];
        if (!(x->infl.z = mgx_inflate_begin(p + pos, n - pos, MGX_INFLATE_RAW, cap, e2, sizeof e2)))
            return mgx_errf(err, errsz, "DICOM: deflated data set: %s", e2);
        x->b.s = &x->infl;
        x->pos = 0;
    } else if (!strcmp(ts, "1.2.840.10008.1.2.4.50") || !strcmp(ts, "1.2.840.10008.1.2.4.51")) x->ts_kind = TS_JPEG;
    else if (!strcmp(ts, "1.2.840.10008.1.2.5")) x->ts_kind = TS_RLE;
    else if (!strcmp(ts, "1.2.840.10008.1.2.1.98")) x->ts_kind = TS_ENCAP_RAW;
    else {
        for (i = 0; i < sizeof k_unsupported / sizeof k_unsupported[0]; i++)
            if (!strcmp(ts, k_unsupported[i].uid))
                return mgx_errf(err, errsz, "DICOM: transfer syntax %s (%s) is not supported", k_unsupported[i].name, ts);
        return mgx_errf(err, errsz, "DICOM: unknown transfer syntax %s", ts);
    }
    return 0;
}

/* Some writers declare one VR encoding and use the other: trust the first element (as other readers do). */
static void trust_first_element(dload *x) {
    dbuf *b = &x->b;
    const unsigned char *p;
    size_t pos = x->pos, n;
    if (b->big || !avail(b, pos, 8, NO_END)) return;
    p = b->s->p;
    n = b->s->n;
    if (p[pos + 1] == 0xFF && p[pos] == 0xFE) return;
    if (b->explicit_vr && !vr_known(p + pos + 4)) b->explicit_vr = 0;
    else if (!b->explicit_vr && vr_known(p + pos + 4) && rd32(p + pos + 4, 0) > n - pos - 8) b->explicit_vr = 1;
}

/* The element walk of the whole data set, up to the pixel data. */
static int walk_elements(dload *x) {
    dctx top;
    size_t pos = x->pos;
    top.kind = CTX_TOP; top.frame = 0; top.level = 0;
    return parse_dataset(&x->st, &x->b, &pos, x->b.s->z ? NO_END : x->b.s->n, 0, 0, top);
}

/* Attributes found in the top level, the shared or frame 0's functional groups, in that order of preference. */
static void apply_groups(dload *x) {
    dstate *st = &x->st;
    mgx_dicom *d = st->d;
    const fg_vals *pf0 = st->pf ? &st->pf[0] : NULL;
    const fg_vals *srcs[3];
    int i, k;
    srcs[0] = &st->top; srcs[1] = &st->shared; srcs[2] = pf0;
    d->slope = fg_pick(pf0, &st->shared, &st->top, 0, 1.0, NULL);
    d->intercept = fg_pick(pf0, &st->shared, &st->top, 1, 0.0, NULL);
    for (i = 0; i < 3; i++) {
        const fg_vals *s = srcs[i];
        if (!s) continue;
        if (!d->has_window && s->has_wc && s->has_ww) { d->window_center = s->wc; d->window_width = s->ww; d->has_window = 1; }
        if (!d->has_position && s->has_position) { for (k = 0; k < 3; k++) d->position[k] = s->position[k]; d->has_position = 1; }
        if (!d->has_orientation && s->has_orientation) { for (k = 0; k < 6; k++) d->orientation[k] = s->orientation[k]; d->has_orientation = 1; }
        if (d->spacing[0] == 0 && s->has_spacing) { d->spacing[0] = s->spacing[0]; d->spacing[1] = s->spacing[1]; }
        if (d->thickness == 0 && s->has_thickness) d->thickness = s->thickness;
        if (d->slice_spacing == 0 && s->has_slice_spacing) d->slice_spacing = s->slice_spacing;
    }
}

/* The Image Pixel module: presence and consistency of its attributes. */
static int check_pixel_attributes(dload *x) {
    dstate *st = &x->st;
    mgx_dicom *d = st->d;
    char *err = st->err;
    size_t errsz = st->errsz;
    if (!st->has_pixels) return mgx_errf(err, errsz, "DICOM: no pixel data element (7FE0,0010)");
    if (!st->has_rows || !st->has_cols || d->rows <= 0 || d->cols <= 0)
        return mgx_errf(err, errsz, "DICOM: missing or zero Rows/Columns (%d x %d)", d->rows, d->cols);
    if (d->rows > 65535 || d->cols > 65535) return mgx_errf(err, errsz, "DICOM: Rows/Columns too large");
    if (d->samples != 1 && d->samples != 3) return mgx_errf(err, errsz, "DICOM: SamplesPerPixel %d not supported (1 or 3)", d->samples);
    if (!st->has_bits_alloc) return mgx_errf(err, errsz, "DICOM: missing BitsAllocated");
    if (d->bits_allocated != 8 && d->bits_allocated != 16 && d->bits_allocated != 32)
        return mgx_errf(err, errsz, "DICOM: BitsAllocated %d not supported (8, 16 or 32)", d->bits_allocated);
    if (!st->has_bits_stored) d->bits_stored = d->bits_allocated;
    if (!st->has_high_bit) d->high_bit = d->bits_stored - 1;
    if (d->bits_stored < 1 || d->bits_stored > d->bits_allocated || d->high_bit >= d->bits_allocated ||
        d->high_bit + 1 < d->bits_stored)
        return mgx_errf(err, errsz, "DICOM: inconsistent BitsAllocated %d / BitsStored %d / HighBit %d", d->bits_allocated,
                        d->bits_stored, d->high_bit);
    if (d->pixel_representation != 0 && d->pixel_representation != 1)
        return mgx_errf(err, errsz, "DICOM: PixelRepresentation %d invalid", d->pixel_representation);
    if (!isfinite(d->slope) || !isfinite(d->intercept) || d->slope == 0) { d->slope = 1; d->intercept = isfinite(d->intercept) ? d->intercept : 0; }
    if (!d->photometric[0]) strcpy(d->photometric, d->samples == 3 ? "RGB" : "MONOCHROME2");
    return 0;
}

/* The sample layout (x->L) from the pixel module, and the frame sizes. */
static int pixel_layout(dload *x) {
    mgx_dicom *d = x->st.d;
    layout *L = &x->L;
    char *err = x->st.err;
    size_t errsz = x->st.errsz;
    memset(L, 0, sizeof *L);
    L->bytes = d->bits_allocated / 8;
    L->big = x->b.big;
    L->bits_stored = d->bits_stored;
    L->high_bit = d->high_bit;
    L->is_signed = d->pixel_representation == 1;
    L->samples = d->samples;
    L->planar = d->planar_configuration == 1;
    if (d->samples == 1) {
        if (strcmp(d->photometric, "MONOCHROME1") && strcmp(d->photometric, "MONOCHROME2"))
            return mgx_errf(err, errsz, "DICOM: photometric interpretation %s not supported for 1 sample per pixel", d->photometric);
        L->color = 0;
    } else {
        if (!strcmp(d->photometric, "RGB")) L->color = 1;
        else if (!strcmp(d->photometric, "YBR_FULL")) L->color = 2;
        else if (!strcmp(d->photometric, "YBR_FULL_422")) L->color = 3;
        else if (x->ts_kind == TS_JPEG && (has_prefix(d->photometric, "YBR_"))) L->color = 1;  /* decoder gives RGB */
        else return mgx_errf(err, errsz, "DICOM: photometric interpretation %s not supported", d->photometric);
        if (x->ts_kind == TS_JPEG) L->color = 1;  /* the JPEG decoder converts to RGB */
        if (L->color >= 2 && d->bits_allocated != 8)
            return mgx_errf(err, errsz, "DICOM: %s with %d bits allocated not supported", d->photometric, d->bits_allocated);
        if (L->color == 3 && (x->ts_kind != TS_NATIVE || L->planar || d->cols % 2))
            return mgx_errf(err, errsz, "DICOM: YBR_FULL_422 needs native interleaved data with an even number of columns");
    }
    if (mul_sz((size_t)d->rows, (size_t)d->cols, &x->npix) || mul_sz(x->npix, (size_t)d->samples, &x->per_frame) ||
        mul_sz(x->per_frame, (size_t)d->frames, &x->total) || x->total > MGX_MAX_DICOM_VALUES)
        return mgx_errf(err, errsz, "DICOM: %d x %d x %d samples x %d frames is too large", d->rows, d->cols, d->samples, d->frames);
    return 0;
}

/* The frames asked for (count 0: from first to the last frame) must exist; x->total becomes their values. */
static int pick_frames(dload *x) {
    mgx_dicom *d = x->st.d;
    if (x->first < 0 || x->first >= d->frames || x->count < 0 || x->count > d->frames - x->first)
        return mgx_errf(x->st.err, x->st.errsz, "DICOM: frames %d..%d asked for, the object has %d (0..%d)", x->first,
                        x->count ? x->first + x->count - 1 : d->frames - 1, d->frames, d->frames - 1);
    if (!x->count) x->count = d->frames - x->first;
    x->total = x->per_frame * (size_t)x->count;
    d->data_first = x->first;
    d->data_frames = x->count;
    return 0;
}

/* The memory check before decoding: the floats of the frames decoded plus `extra` bytes of work space. */
static int claim_frames(dload *x, uint64_t extra) {
    mgx_dicom *d = x->st.d;
    char what[160];
    snprintf(what, sizeof what, "DICOM: %d frame(s) of %d x %d x %d samples", x->count, d->rows, d->cols, d->samples);
    return mgx_check_claim((uint64_t)x->total * sizeof(float) + extra, what, x->st.err, x->st.errsz);
}

/* Per-frame positions (when every frame has one) and WSI tile positions. */
static int frame_facts(dload *x) {
    dstate *st = &x->st;
    mgx_dicom *d = st->d;
    int f;
    if (st->pf && st->npf == d->frames) {
        int all = 1;
        for (f = 0; f < d->frames; f++) if (!st->pf[f].has_position) all = 0;
        if (all && d->frames > 0) {
            d->frame_position = (double *)MGX_MALLOC((size_t)d->frames * 3 * sizeof(double));
            if (!d->frame_position) return mgx_errf(st->err, st->errsz, "DICOM: out of memory");
            for (f = 0; f < d->frames; f++) memcpy(d->frame_position + (size_t)f * 3, st->pf[f].position, 3 * sizeof(double));
        }
    }
    if (d->total_cols > 0 && d->total_rows > 0) {
        int all = st->pf && st->npf == d->frames;
        d->tile_col = (int *)MGX_MALLOC((size_t)d->frames * sizeof(int));
        d->tile_row = (int *)MGX_MALLOC((size_t)d->frames * sizeof(int));
        if (!d->tile_col || !d->tile_row) return mgx_errf(st->err, st->errsz, "DICOM: out of memory");
        for (f = 0; all && f < d->frames; f++) if (!st->pf[f].has_col || !st->pf[f].has_row) all = 0;
        if (all) {
            for (f = 0; f < d->frames; f++) {
                long c = st->pf[f].col - 1, r = st->pf[f].row - 1;  /* 1-based in the file */
                d->tile_col[f] = c < -0x3FFFFFFFL ? -0x3FFFFFFF : c > 0x3FFFFFFFL ? 0x3FFFFFFF : (int)c;
                d->tile_row[f] = r < -0x3FFFFFFFL ? -0x3FFFFFFF : r > 0x3FFFFFFFL ? 0x3FFFFFFF : (int)r;
            }
        } else {  /* TILED_FULL: row-major over the matrix, repeating for further focal planes / optical paths */
            long long tpr = ((long long)d->total_cols + d->cols - 1) / d->cols;
            long long tpc = ((long long)d->total_rows + d->rows - 1) / d->rows;
            for (f = 0; f < d->frames; f++) {
                long long t = f % (tpr * tpc);
                d->tile_col[f] = (int)((t % tpr) * d->cols);
                d->tile_row[f] = (int)((t / tpr) * d->rows);
            }
        }
    }
    return 0;
}

/* Rescale slope and intercept of frame f (per-frame, shared, top level; 1 and 0 when absent or unusable). */
static void frame_rescale(const dstate *st, int f, double *slope, double *inter) {
    const fg_vals *pf = (st->pf && st->npf == st->d->frames) ? &st->pf[f] : NULL;
    double s = fg_pick(pf, &st->shared, &st->top, 0, 1.0, NULL), c = fg_pick(pf, &st->shared, &st->top, 1, 0.0, NULL);
    *slope = !isfinite(s) || s == 0 ? 1 : s;
    *inter = !isfinite(c) ? 0 : c;
}

/* Native pixel data: checks its declared length, then converts the frames asked for (inflating a deflated
   data set only up to the end of the last of them). */
static int decode_native(dload *x) {
    dstate *st = &x->st;
    mgx_dicom *d = st->d;
    const layout *L = &x->L;
    size_t frame_bytes = 0, need = 0, from;   /* set by mul_sz (initialised for GCC -O1 -fsanitize=thread, which cannot see it) */
    int f;
    if (st->pix_undefined) return mgx_errf(st->err, st->errsz, "DICOM: pixel data of undefined length in a native transfer syntax");
    if (L->color == 3 ? mul_sz(x->npix * 2, (size_t)L->bytes, &frame_bytes) : mul_sz(x->per_frame, (size_t)L->bytes, &frame_bytes))
        return mgx_errf(st->err, st->errsz, "DICOM: image too large");
    if (mul_sz(frame_bytes, (size_t)d->frames, &need)) return mgx_errf(st->err, st->errsz, "DICOM: image too large");
    if (st->pix_len < need)
        return mgx_errf(st->err, st->errsz, "DICOM: pixel data has %lu bytes, %d frame(s) of %d x %d x %d x %d bits need %lu",
                        (unsigned long)st->pix_len, d->frames, d->rows, d->cols, d->samples, d->bits_allocated, (unsigned long)need);
    if (x->flags & MGX_DICOM_HEADER_ONLY) return 0;
    from = st->pix_off + (size_t)x->first * frame_bytes;
    if (claim_frames(x, x->b.s->z ? (uint64_t)from + (uint64_t)x->count * frame_bytes : 0)) return -1;
    if (!avail(st->pix_buf, from, (size_t)x->count * frame_bytes, NO_END)) {
        if (x->b.s->zerr[0]) return mgx_errf(st->err, st->errsz, "DICOM: deflated data set: %s", x->b.s->zerr);
        return mgx_errf(st->err, st->errsz, "DICOM: the data set ends after %lu bytes, inside the pixel data of %lu bytes at offset %lu",
                        (unsigned long)x->b.s->n, (unsigned long)st->pix_len, (unsigned long)st->pix_off);
    }
    d->data = (float *)MGX_MALLOC(x->total * sizeof(float));
    if (!d->data) return mgx_errf(st->err, st->errsz, "DICOM: out of memory for %lu values", (unsigned long)x->total);
    for (f = 0; f < x->count; f++) {
        double s, c;
        frame_rescale(st, x->first + f, &s, &c);
        convert_frame(st->pix_buf->s->p + from + (size_t)f * frame_bytes, L, x->npix, s, c, d->data + (size_t)f * x->per_frame);
    }
    return 0;
}

/* The bytes of frame f of encapsulated data (fragments first[f]..first[f+1]); joined into *joined (owned by
   the caller) when the frame spans several fragments. */
static const unsigned char *frame_bytes_of(dload *x, const frag *fr, const size_t *first, int f, size_t *len,
                                           unsigned char **joined) {
    const dbuf *pb = x->st.pix_buf;
    size_t a = first[f], z = first[f + 1], k, o = 0;
    *joined = NULL;
    *len = 0;
    for (k = a; k < z; k++) *len += fr[k].len;  /* cannot overflow: all within the buffer */
    if (z - a == 1) return pb->s->p + fr[a].off;
    *joined = (unsigned char *)MGX_MALLOC(*len ? *len : 1);
    if (!*joined) { mgx_errf(x->st.err, x->st.errsz, "DICOM: out of memory"); return NULL; }
    for (k = a; k < z; k++) { memcpy(*joined + o, pb->s->p + fr[k].off, fr[k].len); o += fr[k].len; }
    return *joined;
}

/* One JPEG frame: decoded, checked against the header, converted. */
static int decode_jpeg_frame(dload *x, const unsigned char *src, size_t len, int f, float *out) {
    mgx_dicom *d = x->st.d;
    mgx_image img;
    char e2[160];
    double s, c;
    int rc = 0;
    memset(&img, 0, sizeof img);
    frame_rescale(&x->st, f, &s, &c);
    if (mgx_jpeg_decode(src, len, &img, e2, sizeof e2)) {
        rc = mgx_errf(x->st.err, x->st.errsz, "DICOM: frame %d: %s", f, e2);
    } else if (img.w != d->cols || img.h != d->rows || img.channels != d->samples) {
        rc = mgx_errf(x->st.err, x->st.errsz, "DICOM: frame %d: JPEG is %dx%d with %d channel(s), header says %dx%d with %d", f,
                      img.w, img.h, img.channels, d->cols, d->rows, d->samples);
    } else {
        layout J = x->L;
        J.bytes = 1; J.big = 0; J.planar = 0;
        J.bits_stored = d->bits_stored; J.high_bit = d->bits_stored - 1;
        convert_frame(img.px, &J, x->npix, s, c, out);
    }
    mgx_image_free(&img);
    return rc;
}

/* One frame of encapsulated uncompressed data: native little endian bytes. */
static int decode_raw_frame(dload *x, const unsigned char *src, size_t len, int f, float *out) {
    size_t fb;
    double s, c;
    layout R = x->L;
    R.big = 0;
    if (x->L.color == 3 || mul_sz(x->per_frame, (size_t)x->L.bytes, &fb) || len < fb)
        return mgx_errf(x->st.err, x->st.errsz, "DICOM: frame %d: %lu bytes of encapsulated uncompressed data, too few", f, (unsigned long)len);
    frame_rescale(&x->st, f, &s, &c);
    convert_frame(src, &R, x->npix, s, c, out);
    return 0;
}

/* Encapsulated pixel data: fragments mapped to frames, then the frames asked for decoded (JPEG, RLE or raw). */
static int decode_encapsulated(dload *x) {
    dstate *st = &x->st;
    mgx_dicom *d = st->d;
    const dbuf *pb = st->pix_buf;
    frag *fr = NULL;
    size_t nfrag = 0, bot = 0, bot_len = 0, *first = NULL, nb;
    unsigned char *scratch = NULL, *plane = NULL;
    int f, rc = -1;
    if (!st->pix_undefined) return mgx_errf(st->err, st->errsz, "DICOM: encapsulated transfer syntax but pixel data has a defined length");
    if (collect_fragments(st, pb, st->pix_off, pb->s->n, &bot, &bot_len, &fr, &nfrag)) return -1;
    first = (size_t *)MGX_MALLOC(((size_t)d->frames + 1) * sizeof(size_t));
    if (!first) { mgx_errf(st->err, st->errsz, "DICOM: out of memory"); goto done; }
    if (map_frames(st, pb, x->ts_kind, d->frames, fr, nfrag, bot, bot_len, first)) goto done;
    if (x->ts_kind == TS_JPEG && d->bits_stored > 8) {
        mgx_errf(st->err, st->errsz, "DICOM: JPEG with %d bits stored is not supported (8-bit JPEG only)", d->bits_stored);
        goto done;
    }
    if (x->flags & MGX_DICOM_HEADER_ONLY) { rc = 0; goto done; }
    if (mul_sz(x->per_frame, (size_t)x->L.bytes, &nb)) { mgx_errf(st->err, st->errsz, "DICOM: image too large"); goto done; }
    if (claim_frames(x, x->ts_kind == TS_RLE ? (uint64_t)nb + x->npix : 0)) goto done;
    if (x->ts_kind == TS_RLE) {
        scratch = (unsigned char *)MGX_MALLOC(nb ? nb : 1);
        plane = (unsigned char *)MGX_MALLOC(x->npix ? x->npix : 1);
        if (!scratch || !plane) { mgx_errf(st->err, st->errsz, "DICOM: out of memory"); goto done; }
    }
    for (f = x->first; f < x->first + x->count; f++) {
        size_t len;
        unsigned char *joined;
        const unsigned char *src = frame_bytes_of(x, fr, first, f, &len, &joined);
        float *out;
        int r2;
        if (!src) goto done;
        if (!d->data && !(d->data = (float *)MGX_MALLOC(x->total * sizeof(float)))) {
            MGX_FREE(joined);
            mgx_errf(st->err, st->errsz, "DICOM: out of memory for %lu values", (unsigned long)x->total);
            goto done;
        }
        out = d->data + (size_t)(f - x->first) * x->per_frame;
        if (x->ts_kind == TS_JPEG) r2 = decode_jpeg_frame(x, src, len, f, out);
        else if (x->ts_kind == TS_RLE) {
            layout R = x->L;
            double s, c;
            R.big = 0; R.planar = 0;
            frame_rescale(st, f, &s, &c);
            r2 = rle_frame(st, src, len, &x->L, x->npix, scratch, plane, f);
            if (!r2) convert_frame(scratch, &R, x->npix, s, c, out);
        } else r2 = decode_raw_frame(x, src, len, f, out);
        MGX_FREE(joined);
        if (r2) goto done;
    }
    rc = 0;
done:
    MGX_FREE(fr);
    MGX_FREE(first);
    MGX_FREE(scratch);
    MGX_FREE(plane);
    return rc;
}

/* The core loader: meta header, transfer syntax, element walk, pixel module, frames [first, first + count)
   (count 0: to the last). `p` stays the caller's. */
static int load_mem(const unsigned char *p, size_t n, mgx_dicom *d, int flags, int first, int count, char *err, size_t errsz) {
    dload x;
    int rc;
    memset(d, 0, sizeof *d);
    memset(&x, 0, sizeof x);
    x.st.d = d; x.st.err = err; x.st.errsz = errsz;
    x.flags = flags;
    x.first = first;
    x.count = count;
    x.file.p = p; x.file.n = n;
    x.b.s = &x.file; x.b.explicit_vr = 1;
    d->slope = 1; d->intercept = 0; d->frames = 1; d->samples = 1;
    if (err && errsz) err[0] = 0;
    if (!p && n) return mgx_errf(err, errsz, "DICOM: no data");
    rc = read_meta(&x, p, n) || select_syntax(&x, p, n);
    if (!rc) {
        trust_first_element(&x);
        rc = walk_elements(&x);
        if (x.infl.zerr[0]) rc = mgx_errf(err, errsz, "DICOM: deflated data set: %s", x.infl.zerr);
    }
    if (!rc) {
        apply_groups(&x);
        rc = check_pixel_attributes(&x) || pixel_layout(&x) || pick_frames(&x) || frame_facts(&x);
    }
    if (!rc) rc = x.ts_kind == TS_NATIVE ? decode_native(&x) : decode_encapsulated(&x);
    MGX_FREE(x.st.pf);
    mgx_inflate_end(x.infl.z);
    if (rc) mgx_dicom_free(d);
    return rc ? -1 : 0;
}

int mgx_dicom_load_mem_ex(const void *data, size_t n, mgx_dicom *d, int flags, char *err, size_t errsz) {
    if (!d) return mgx_errf(err, errsz, "DICOM: no output structure");
    return load_mem((const unsigned char *)data, n, d, flags, 0, 0, err, errsz);
}

int mgx_dicom_load_mem(const void *data, size_t n, mgx_dicom *d, char *err, size_t errsz) {
    return mgx_dicom_load_mem_ex(data, n, d, 0, err, errsz);
}

int mgx_dicom_load_frames_mem(const void *data, size_t n, int first, int count, mgx_dicom *d, char *err, size_t errsz) {
    if (!d) return mgx_errf(err, errsz, "DICOM: no output structure");
    return load_mem((const unsigned char *)data, n, d, 0, first, count, err, errsz);
}

/* Reads path and loads it; messages start with the path. */
static int load_file(const char *path, mgx_dicom *d, int flags, int first, int count, char *err, size_t errsz) {
    unsigned char *buf = NULL;
    size_t n = 0;
    int rc;
    if (!d) return mgx_errf(err, errsz, "DICOM: no output structure");
    memset(d, 0, sizeof *d);
    if (!path) return mgx_errf(err, errsz, "DICOM: no path");
    if (mgx_read_file(path, MGX_MAX_MEDICAL_FILE_BYTES, &buf, &n, err, errsz)) return -1;
    rc = load_mem(buf, n, d, flags, first, count, err, errsz);
    MGX_FREE(buf);
    if (rc && err && errsz) {
        size_t pl = strlen(path), el = strlen(err);
        if (pl + 2 + el < errsz) {
            memmove(err + pl + 2, err, el + 1);
            memcpy(err, path, pl);
            err[pl] = ':'; err[pl + 1] = ' ';
        }
    }
    return rc;
}

int mgx_dicom_load_file_ex(const char *path, mgx_dicom *d, int flags, char *err, size_t errsz) {
    return load_file(path, d, flags, 0, 0, err, errsz);
}

int mgx_dicom_load_file(const char *path, mgx_dicom *d, char *err, size_t errsz) {
    return load_file(path, d, 0, 0, 0, err, errsz);
}

int mgx_dicom_load_frames_file(const char *path, int first, int count, mgx_dicom *d, char *err, size_t errsz) {
    return load_file(path, d, 0, first, count, err, errsz);
}

/* PS3.3 C.11.2.1.2.1 linear VOI function, to 0..255. */
static unsigned char window_linear(double x, double c, double w) {
    double y;
    if (x <= c - 0.5 - (w - 1) / 2) y = 0;
    else if (x > c - 0.5 + (w - 1) / 2) y = 255;
    else y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0;
    if (!(y >= 0)) y = 0;  /* also NaN */
    if (y > 255) y = 255;
    return (unsigned char)floor(y + 0.5);
}

/* one frame's pixels to 8 bits into dst (npix*samples bytes) */
static void frame_to_u8(const mgx_dicom *d, int frame, unsigned char *dst) {
    size_t npix = (size_t)d->rows * (size_t)d->cols, i;
    const float *src = d->data + (size_t)(frame - d->data_first) * npix * (size_t)d->samples;
    int inv = !strcmp(d->photometric, "MONOCHROME1");
    if (d->samples == 3) {
        for (i = 0; i < npix * 3; i++) {
            float v = src[i];
            dst[i] = (unsigned char)(v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5f));
        }
        return;
    }
    if (d->has_window && d->window_width >= 1) {
        for (i = 0; i < npix; i++) {
            unsigned char y = window_linear(src[i], d->window_center, d->window_width);
            dst[i] = inv ? (unsigned char)(255 - y) : y;
        }
    } else {
        double mn = src[0], mx = src[0];
        for (i = 1; i < npix; i++) {
            if (src[i] < mn) mn = src[i];
            if (src[i] > mx) mx = src[i];
        }
        for (i = 0; i < npix; i++) {
            unsigned char y = 0;
            if (mx > mn) y = (unsigned char)floor((src[i] - mn) / (mx - mn) * 255.0 + 0.5);
            dst[i] = inv ? (unsigned char)(255 - y) : y;
        }
    }
}

int mgx_dicom_frame_to_image(const mgx_dicom *d, int frame, mgx_image *img, char *err, size_t errsz) {
    if (!img) return mgx_errf(err, errsz, "DICOM: no output image");
    memset(img, 0, sizeof *img);
    if (!d || !d->data || d->rows <= 0 || d->cols <= 0 || (d->samples != 1 && d->samples != 3))
        return mgx_errf(err, errsz, "DICOM: no pixel data loaded");
    if (frame < 0 || frame >= d->frames) return mgx_errf(err, errsz, "DICOM: frame %d out of range 0..%d", frame, d->frames - 1);
    if (frame < d->data_first || frame - d->data_first >= d->data_frames)
        return mgx_errf(err, errsz, "DICOM: frame %d was not decoded (frames %d..%d were)", frame, d->data_first,
                        d->data_first + d->data_frames - 1);
    if (mgx_image_alloc(img, d->cols, d->rows, d->samples, err, errsz)) return -1;
    frame_to_u8(d, frame, img->px);
    return 0;
}

/* The part of tile f inside the total pixel matrix: [*x0, *x1) x [*y0, *y1); 0 when it is empty. */
static int tile_rect(const mgx_dicom *d, int f, long *x0, long *y0, long *x1, long *y1) {
    *x0 = d->tile_col[f] < 0 ? 0 : d->tile_col[f];
    *y0 = d->tile_row[f] < 0 ? 0 : d->tile_row[f];
    *x1 = (long)d->tile_col[f] + d->cols > d->total_cols ? d->total_cols : (long)d->tile_col[f] + d->cols;
    *y1 = (long)d->tile_row[f] + d->rows > d->total_rows ? d->total_rows : (long)d->tile_row[f] + d->rows;
    return *x0 < *x1 && *y0 < *y1;
}

int mgx_dicom_tiles_to_image(const mgx_dicom *d, mgx_image *img, char *err, size_t errsz) {
    unsigned char *tile;
    size_t tb;
    uint64_t covered = 0;
    long bx0 = 0x7FFFFFFFL, by0 = 0x7FFFFFFFL, bx1 = 0, by1 = 0, x0, y0, x1, y1, y;
    int f, ch, last;
    char what[160];
    if (!img) return mgx_errf(err, errsz, "DICOM: no output image");
    memset(img, 0, sizeof *img);
    if (!d || !d->data) return mgx_errf(err, errsz, "DICOM: no pixel data loaded");
    if (d->total_cols <= 0 || d->total_rows <= 0 || !d->tile_col || !d->tile_row)
        return mgx_dicom_frame_to_image(d, d->data_first, img, err, errsz);
    ch = d->samples;
    last = d->data_first + d->data_frames;
    for (f = d->data_first; f < last; f++) {
        if (!tile_rect(d, f, &x0, &y0, &x1, &y1)) continue;
        if (x0 < bx0) bx0 = x0;
        if (y0 < by0) by0 = y0;
        if (x1 > bx1) bx1 = x1;
        if (y1 > by1) by1 = y1;
        covered += (uint64_t)(x1 - x0) * (uint64_t)(y1 - y0);
    }
    if (!covered)
        return mgx_errf(err, errsz, "DICOM: none of the %d tiles lies inside the %d x %d total pixel matrix", d->data_frames,
                        d->total_cols, d->total_rows);
    if ((uint64_t)(bx1 - bx0) * (uint64_t)(by1 - by0) > covered * MGX_WSI_MAX_BLANK_RATIO)
        return mgx_errf(err, errsz, "DICOM: the %d tiles cover %llu pixels of the %ld x %ld region they span (total pixel matrix "
                        "%d x %d): more than %d times that area would be blank canvas (MGX_WSI_MAX_BLANK_RATIO)", d->data_frames,
                        (unsigned long long)covered, bx1 - bx0, by1 - by0, d->total_cols, d->total_rows, MGX_WSI_MAX_BLANK_RATIO);
    tb = (size_t)d->rows * (size_t)d->cols * (size_t)ch;
    snprintf(what, sizeof what, "DICOM: a %ld x %ld slide canvas", bx1 - bx0, by1 - by0);
    if (mgx_check_claim((uint64_t)(bx1 - bx0) * (uint64_t)(by1 - by0) * (uint64_t)ch + tb, what, err, errsz)) return -1;
    if (mgx_image_alloc(img, (int)(bx1 - bx0), (int)(by1 - by0), ch, err, errsz)) return -1;
    memset(img->px, 255, (size_t)img->w * (size_t)img->h * (size_t)ch);
    tile = (unsigned char *)MGX_MALLOC(tb);
    if (!tile) { mgx_image_free(img); return mgx_errf(err, errsz, "DICOM: out of memory"); }
    for (f = d->data_first; f < last; f++) {
        if (!tile_rect(d, f, &x0, &y0, &x1, &y1)) continue;
        frame_to_u8(d, f, tile);
        for (y = y0; y < y1; y++)
            memcpy(img->px + ((size_t)(y - by0) * (size_t)img->w + (size_t)(x0 - bx0)) * (size_t)ch,
                   tile + ((size_t)(y - d->tile_row[f]) * (size_t)d->cols + (size_t)(x0 - d->tile_col[f])) * (size_t)ch,
                   (size_t)(x1 - x0) * (size_t)ch);
    }
    MGX_FREE(tile);
    return 0;
}
