/* Sampler: greedy ties, temperature, top-k, top-p, min-p and repetition penalty, checked by drawing many
   samples and comparing frequencies with probabilities computed here in double precision (chi-square), plus
   seed determinism. The internal sampler is reached by compiling the implementation statically into this test. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define MEDGEMMA_STATIC
#define MEDGEMMA_IMPLEMENTATION
#include "medgemma.h"
#include "mgtest.h"

#define NDRAW 200000

/* Draws NDRAW samples and returns the chi-square statistic against p (tokens with p = 0 must never appear). */
static double chi2(const float *logits, int n, const mg_sampler_options *o, const double *p, int *forbidden) {
    int32_t ids[16], counts[16] = { 0 };
    float work[16], l[16];
    uint64_t rng = 42;
    double x = 0;
    int i, k;
    *forbidden = 0;
    for (k = 0; k < NDRAW; k++) {
        memcpy(l, logits, sizeof(float) * (size_t)n);
        i = mg__sample(l, n, o, &rng, NULL, 0, ids, work);
        counts[i]++;
    }
    for (i = 0; i < n; i++) {
        if (p[i] == 0) { *forbidden += counts[i]; continue; }
        x += (counts[i] - NDRAW * p[i]) * (counts[i] - NDRAW * p[i]) / (NDRAW * p[i]);
    }
    return x;
}

/* softmax(logits / t) over the ids where keep[i], in double */
static void softmax_ref(const float *l, int n, double t, const int *keep, double *p) {
    double s = 0;
    int i;
    for (i = 0; i < n; i++) s += keep[i] ? exp(l[i] / t) : 0;
    for (i = 0; i < n; i++) p[i] = keep[i] ? exp(l[i] / t) / s : 0;
}

int main(void) {
    const float logits[5] = { 1.0f, 2.0f, 0.5f, 2.5f, -1.0f };   /* probabilities .14 .38 .08 .62 .02 before norm */
    int all[5] = { 1, 1, 1, 1, 1 }, forbidden;
    double p[5], x;
    mg_sampler_options o;
    memset(&o, 0, sizeof o);
    {   /* greedy: argmax, ties to the lowest id */
        float l[4] = { 1, 5, 5, 2 };
        int32_t ids[4];
        float w[4];
        uint64_t rng = 1;
        CHECK(mg__sample(l, 4, &o, &rng, NULL, 0, ids, w) == 1, "greedy tie -> lowest id");
    }
    /* chi-square critical value for 4 degrees of freedom at p = 0.001 is 18.47; 1 dof: 10.83 */
    o.temperature = 1.0f;
    softmax_ref(logits, 5, 1.0, all, p);
    x = chi2(logits, 5, &o, p, &forbidden);
    CHECK(x < 18.47, "temperature 1: chi2 %.2f", x);
    o.temperature = 0.5f;
    softmax_ref(logits, 5, 0.5, all, p);
    x = chi2(logits, 5, &o, p, &forbidden);
    CHECK(x < 18.47, "temperature 0.5: chi2 %.2f", x);
    {   /* top-k 2 keeps ids 3 and 1 */
        int keep[5] = { 0, 1, 0, 1, 0 };
        o.temperature = 1.0f; o.top_k = 2;
        softmax_ref(logits, 5, 1.0, keep, p);
        x = chi2(logits, 5, &o, p, &forbidden);
        CHECK(x < 10.83 && forbidden == 0, "top-k 2: chi2 %.2f, %d outside", x, forbidden);
        o.top_k = 0;
    }
    {   /* top-p: sorted probs .5313 .3222 .1185 .0195 ...: p = 0.6 keeps the first two, 0.9 the first three */
        int keep2[5] = { 0, 1, 0, 1, 0 }, keep3[5] = { 1, 1, 0, 1, 0 };
        o.top_p = 0.6f;
        softmax_ref(logits, 5, 1.0, keep2, p);
        x = chi2(logits, 5, &o, p, &forbidden);
        CHECK(x < 10.83 && forbidden == 0, "top-p 0.6: chi2 %.2f, %d outside", x, forbidden);
        o.top_p = 0.9f;
        softmax_ref(logits, 5, 1.0, keep3, p);
        x = chi2(logits, 5, &o, p, &forbidden);
        CHECK(x < 13.82 && forbidden == 0, "top-p 0.9: chi2 %.2f, %d outside", x, forbidden);
        o.top_p = 0;
    }
    {   /* min-p 0.3: keep p >= 0.3 * p_max, i.e. logit >= 2.5 + ln 0.3 = 1.296: ids 3 and 1 */
        int keep[5] = { 0, 1, 0, 1, 0 };
        o.min_p = 0.3f;
        softmax_ref(logits, 5, 1.0, keep, p);
        x = chi2(logits, 5, &o, p, &forbidden);
        CHECK(x < 10.83 && forbidden == 0, "min-p 0.3: chi2 %.2f, %d outside", x, forbidden);
        o.min_p = 0;
    }
    {   /* repetition penalty 2 (llama.cpp's rule): positive logits divided, negative multiplied */
        float l[3] = { 4.0f, 3.5f, -1.0f };
        int32_t hist[3] = { 0, 2, 0 }, ids[3];
        float w[3];
        uint64_t rng = 1;
        mg_sampler_options g;
        memset(&g, 0, sizeof g);
        g.repeat_penalty = 2.0f;
        CHECK(mg__sample(l, 3, &g, &rng, hist, 3, ids, w) == 1, "penalised token loses the argmax");
        CHECK(l[0] == 2.0f && l[1] == 3.5f && l[2] == -2.0f, "penalised logits %g %g %g (each token once)", l[0], l[1], l[2]);
        g.repeat_last_n = 1;   /* only hist[2] = 0 is looked at */
        l[0] = 4.0f; l[2] = -1.0f;
        mg__sample(l, 3, &g, &rng, hist, 3, ids, w);
        CHECK(l[0] == 2.0f && l[2] == -1.0f, "repeat_last_n window");
    }
    {   /* same seed, same draws; another seed, other draws */
        uint64_t a = 7, b = 7, c = 8;
        int32_t ids[5];
        float w[5], l[5];
        int k, same_ab = 1, same_ac = 1;
        o.temperature = 1.0f;
        for (k = 0; k < 200; k++) {
            int32_t x1, x2, x3;
            memcpy(l, logits, sizeof l); x1 = mg__sample(l, 5, &o, &a, NULL, 0, ids, w);
            memcpy(l, logits, sizeof l); x2 = mg__sample(l, 5, &o, &b, NULL, 0, ids, w);
            memcpy(l, logits, sizeof l); x3 = mg__sample(l, 5, &o, &c, NULL, 0, ids, w);
            same_ab &= x1 == x2; same_ac &= x1 == x3;
        }
        CHECK(same_ab && !same_ac, "seed determinism");
    }
    return MG_TEST_END();
}
