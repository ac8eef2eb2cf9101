/* Vision against llama.cpp and Pillow: preprocessing (tests/data/ref/preprocess, Pillow's pad-to-square +
   antialiased bilinear, within 1 grey level; llama.cpp's letterbox checked through the embeddings), image
   embeddings (ref/image/NAME.image_embd.bin, F32 mmproj <= 0.01), image-prompt logits and 24 greedy ids (F32 and
   Q4_K_M text models), the F16 mmproj, multi-image and chat-built prompts, Ollama's single-file layout made
   here with the GGUF writer, and the errors users meet (no vision, a projector of the wrong width). */
#pragma GCC diagnostic ignored "-Wunused-function"   /* MG_REFERENCE runs only the fixture checks */
#include "fixtures.h"
#include "tools/gguf_write.h"
#include "mgx_image.h"

static const char *images[] = { "img-shapes-896x896", "img-xray-1024x768", "img-small-300x200" };

static int load_image(const char *path, mgx_image *img, mg_image *mi) {
    char err[256];
    if (mgx_image_load_file(path, img, err, sizeof err) != 0) { printf("FAIL %s: %s\n", path, err); return 0; }
    mi->w = img->w; mi->h = img->h; mi->channels = img->channels; mi->pixels = img->px;
    return 1;
}
static mg_model *load(const char *text, const char *mmproj) {
    mg_model *m = NULL;
    mg_model_options o;
    mg_error e;
    memset(&o, 0, sizeof o);
    o.mmproj_path = mmproj;
    if (mg_model_load_file(&m, text, &o, &e) != MG_OK) printf("FAIL load %s + %s: %s\n", text, mmproj ? mmproj : "-", e.message);
    return m;
}
/* Logits of llama.cpp's image prompt: <bos><start_of_turn>user\n<start_of_image> IMG <end_of_image>Describe ... */
static int image_prompt(mg_session *s, const mg_model *m, const mg_image_embd *e) {
    const char *pre = "<start_of_turn>user\n<start_of_image>", *post = "<end_of_image>Describe the findings in this image.<end_of_turn>\n<start_of_turn>model\n";
    int32_t ids[64];
    int n;
    mg_tokenize(m, pre, strlen(pre), MG_TOKENIZE_BOS | MG_TOKENIZE_SPECIAL, ids, 64, &n, NULL);
    if (n != 5 || mg_eval(s, ids, n) != MG_OK) return 0;
    if (mg_eval_embd(s, e->data, e->n_tokens, 1) != MG_OK) return 0;
    mg_tokenize(m, post, strlen(post), MG_TOKENIZE_SPECIAL, ids, 64, &n, NULL);
    return mg_eval(s, ids, n) == MG_OK && mg_session_pos(s) == 277;
}

static void check_preprocess(void) {
    mg_model *m = load(FIX_DIR "models/mmproj-tiny-f32.gguf", NULL);
    const char *names[3] = { "img-xray-1024x768", "img-small-300x200", "cxr-Chest_Xray_PA_3-8-2010" };
    const char *src[3] = { FIX_DIR "images/img-xray-1024x768.png", FIX_DIR "images/img-small-300x200.png", FIX_DIR "cxr/Chest_Xray_PA_3-8-2010.png" };
    int k, side = 0;
    for (k = 0; m && k < 3; k++) {
        mgx_image img, ref;
        mg_image mi;
        char path[256], err[256];
        unsigned char *gz = NULL, *raw = NULL;
        size_t ngz, nraw, i, worst = 0, off = 0;
        uint8_t *out = (uint8_t *)malloc(896 * 896 * 3);
        snprintf(path, sizeof path, FIX_DIR "ref/preprocess/%s.padsq-pil-bilinear-896.ppm.gz", names[k]);
        if (!load_image(src[k], &img, &mi) || mgx_read_file(path, 0, &gz, &ngz, err, sizeof err) ||
            mgx_inflate(gz, ngz, 2, 0, &raw, &nraw, err, sizeof err) || mgx_pnm_decode(raw, nraw, &ref, err, sizeof err)) {
            CHECK(0, "%s: inputs", names[k]); free(out); continue;
        }
        CHECK(mg_image_preprocess(m, &mi, MG_IMAGE_MEDGEMMA, out, &side, NULL) == MG_OK && side == 896, "%s preprocess", names[k]);
        for (i = 0; i < (size_t)896 * 896 * 3; i++) {
            size_t d = out[i] > ref.px[i] ? out[i] - ref.px[i] : ref.px[i] - out[i];
            if (d > worst) { worst = d; off = i; }
        }
        CHECK(ref.w == 896 && ref.h == 896 && worst <= 1, "%s: Pillow differs by %zu grey levels at byte %zu", names[k], worst, off);
        mgx_image_free(&img); mgx_image_free(&ref); free(gz); free(raw); free(out);
    }
    mg_model_free(m);
}

static void check_embeddings_and_logits(void) {
    mg_model *vonly = load(FIX_DIR "models/mmproj-tiny-f32.gguf", NULL);
    mg_model *f16v = load(FIX_DIR "models/mmproj-tiny-f16.gguf", NULL);
    mg_model *tm[2];
    const char *tv[2] = { "f32", "q4_k_m" };
    mg_session *vs = fix_session(vonly, 2, 0), *vs16 = fix_session(f16v, 2, 0);
    int k, t;
    mg_model_info info;
    tm[0] = load(FIX_DIR "models/tiny-f32.gguf", FIX_DIR "models/mmproj-tiny-f32.gguf");
    tm[1] = load(FIX_DIR "models/tiny-q4_k_m.gguf", FIX_DIR "models/mmproj-tiny-f32.gguf");
    mg_model_get_info(vonly, &info);
    CHECK(info.has_vision && !info.has_weights && info.image_tokens == 256, "an mmproj file alone loads as a vision-only model");
    mg_model_get_info(tm[0], &info);
    CHECK(info.has_vision && info.has_weights && info.image_tokens == 256, "text + mmproj");
    for (k = 0; k < 3; k++) {
        mgx_image img;
        mg_image mi;
        mg_image_embd e, e16;
        char path[256];
        float *want, d;
        size_t nw;
        snprintf(path, sizeof path, FIX_DIR "images/%s.png", images[k]);
        if (!load_image(path, &img, &mi)) { CHECK(0, "image"); continue; }
        snprintf(path, sizeof path, FIX_DIR "ref/image/tiny-f32.%s.image_embd.bin", images[k]);
        want = fix_floats(path, &nw);
        CHECK(mg_encode_image(vs, &mi, MG_IMAGE_LLAMACPP, &e) == MG_OK && e.n_tokens == 256 && e.n_embd == 256, "encode %s", images[k]);
        d = fix_maxdiff(e.data, want, nw);
        printf("  %-20s embeddings max|d| %.5f\n", images[k], d);
        CHECK(nw == 65536 && d <= 0.01f, "%s: embeddings differ by %g", images[k], d);
        /* F16 mmproj: llama.cpp's F16 embeddings differ from its F32 ones by <= 0.0047 (fixtures README 6) */
        CHECK(mg_encode_image(vs16, &mi, MG_IMAGE_LLAMACPP, &e16) == MG_OK, "encode f16");
        d = fix_maxdiff(e16.data, want, nw);
        CHECK(d <= 0.01f, "%s: F16 mmproj embeddings differ from llama.cpp's F32 ones by %g", images[k], d);
        for (t = 0; t < 2; t++) {
            mg_session *s = fix_session(tm[t], 2, 0);
            mgx_json *ref;
            float *wl;
            int32_t *greedy;
            int ng, i;
            snprintf(path, sizeof path, FIX_DIR "ref/image/tiny-%s.%s.json", tv[t], images[k]);
            ref = fix_json(path);
            snprintf(path, sizeof path, FIX_DIR "ref/image/tiny-%s.%s.logits.bin", tv[t], images[k]);
            wl = fix_floats(path, &nw);
            CHECK(image_prompt(s, tm[t], &e), "image prompt");
            d = fix_maxdiff(mg_logits(s), wl, nw);
            printf("  %-20s %-7s logits max|d| %.5f\n", images[k], tv[t], d);
            CHECK(d <= (t == 0 ? 0.02f : 1.0f), "%s %s: logits differ by %g", images[k], tv[t], d);
            greedy = fix_ids(mgx_json_get(ref, "greedy_ids"), &ng);
            for (i = 0; i < ng; i++) {
                int32_t id = fix_argmax(mg_logits(s), 8192);
                if (id != greedy[i] || (i + 1 < ng && mg_eval(s, &id, 1) != MG_OK)) break;
            }
            CHECK(ng == 24 && i == ng, "%s %s: greedy ids differ at step %d", images[k], tv[t], i);
            free(greedy); free(wl); mgx_json_free(ref);
            mg_session_free(s);
        }
        {   /* F16 mmproj + F32 text: llama.cpp's top-10 logits and greedy ids (ref/image/tiny-f32.mmproj-f16.*.json) */
            mg_session *s = fix_session(tm[0], 2, 0);
            mgx_json *ref;
            const mgx_json *top;
            int32_t *greedy;
            int ng, i;
            float worst = 0;
            snprintf(path, sizeof path, FIX_DIR "ref/image/tiny-f32.mmproj-f16.%s.json", images[k]);
            ref = fix_json(path);
            top = mgx_json_get(ref, "last_top10");
            CHECK(image_prompt(s, tm[0], &e16) && mgx_json_len(top) == 10, "f16 image prompt");
            for (i = 0; i < 10; i++) {
                const mgx_json *pair = mgx_json_at(top, (size_t)i);
                int id = (int)mgx_json_number(mgx_json_at(pair, 0), -1);
                float dv = fabsf(mg_logits(s)[id] - (float)mgx_json_number(mgx_json_at(pair, 1), 1e9));
                worst = dv > worst ? dv : worst;
            }
            CHECK(worst <= 0.02f, "%s F16 mmproj: top-10 logits differ by %g", images[k], worst);
            greedy = fix_ids(mgx_json_get(ref, "greedy_ids"), &ng);
            for (i = 0; i < ng; i++) {
                int32_t id = fix_argmax(mg_logits(s), 8192);
                if (id != greedy[i] || (i + 1 < ng && mg_eval(s, &id, 1) != MG_OK)) break;
            }
            CHECK(ng == 24 && i == ng, "%s F16 mmproj: greedy differs at %d", images[k], i);
            free(greedy); mgx_json_free(ref);
            mg_session_free(s);
        }
        mg_image_embd_free(&e); mg_image_embd_free(&e16);
        mgx_image_free(&img);
        free(want);
    }
    mg_session_free(vs); mg_session_free(vs16);
    mg_model_free(vonly); mg_model_free(f16v); mg_model_free(tm[0]); mg_model_free(tm[1]);
}

typedef struct prog { int calls, cancel_at; } prog;
static int on_progress(void *user, int done, int total) {
    prog *p = (prog *)user;
    (void)total;
    p->calls++;
    return p->cancel_at && done >= p->cancel_at;
}

static void check_prompts_and_errors(void) {
    mg_model *m = load(FIX_DIR "models/tiny-f32.gguf", FIX_DIR "models/mmproj-tiny-f32.gguf");
    mg_model *text = load(FIX_DIR "models/tiny-f32.gguf", NULL);
    mgx_image a, b;
    mg_image mi[2];
    mg_image_embd e[2];
    mg_session *s = fix_session(m, 2, 0), *s2 = fix_session(m, 1, 0);
    mg_session_options o;
    prog pr;
    if (!m || !text || !load_image(FIX_DIR "images/img-small-300x200.png", &a, &mi[0]) ||
        !load_image(FIX_DIR "images/img-xray-1024x768.png", &b, &mi[1])) { CHECK(0, "inputs"); return; }
    CHECK(mg_encode_images(s, mi, 2, MG_IMAGE_MEDGEMMA, e) == MG_OK, "two images");
    {   /* chat builder: \n\n<start_of_image> + 256 soft tokens + <end_of_image>\n\n per image, HF's layout */
        mg_chat_item it[4] = { { "Compare:", NULL }, { NULL, &e[0] }, { NULL, &e[1] }, { "What changed?", NULL } };
        mg_chat_turn turn = { "user", it, 4 };
        mg_prompt p;
        int32_t nl2 = mg_token_lookup(m, "\n\n"), soi = mg_token_lookup(m, "<start_of_image>"), eoi = mg_token_lookup(m, "<end_of_image>");
        int i, soft = 0, start = -1, img = 0;
        float *l1;
        CHECK(mg_chat_build(m, NULL, &turn, 1, 1, &p, NULL) == MG_OK && p.n_images == 2, "chat with 2 images");
        for (i = 0; i < p.n_ids; i++) { if (p.ids[i] == mg_token_lookup(m, "<image_soft_token>")) soft++; if (p.ids[i] == soi && start < 0) start = i; }
        /* between the two images the four newlines are one token, as HF tokenizes the rendered string */
        CHECK(soft == 512 && start > 0 && p.ids[start - 1] == nl2 && p.ids[start + 257] == eoi &&
              p.ids[start + 258] == mg_token_lookup(m, "\n\n\n\n") && p.ids[start + 259] == soi, "image layout");
        CHECK(mg_eval_prompt(s, &p) == MG_OK, "eval_prompt: %s", mg_session_error(s));
        l1 = (float *)malloc(8192 * sizeof(float));
        memcpy(l1, mg_logits(s), 8192 * sizeof(float));
        /* the same sequence fed by hand: text runs, then each image as a bidirectional block */
        for (i = 0; i < p.n_ids;) {
            int j = i;
            if (p.ids[i] == mg_token_lookup(m, "<image_soft_token>")) { mg_eval_embd(s2, p.images[img++]->data, 256, 1); i += 256; continue; }
            while (j < p.n_ids && p.ids[j] != mg_token_lookup(m, "<image_soft_token>")) j++;
            mg_eval(s2, p.ids + i, j - i);
            i = j;
        }
        CHECK(memcmp(l1, mg_logits(s2), 8192 * sizeof(float)) == 0, "eval_prompt = the same sequence fed by hand (bit-identical)");
        free(l1);
        mg_prompt_free(&p);
    }
    mg_image_embd_free(&e[0]); mg_image_embd_free(&e[1]);
    /* progress per image and cancellation */
    mg_session_free(s);
    memset(&o, 0, sizeof o);
    memset(&pr, 0, sizeof pr);
    o.n_threads = 2; o.progress = on_progress; o.progress_user = &pr;
    mg_session_new(&s, m, &o, NULL);
    CHECK(mg_encode_images(s, mi, 2, MG_IMAGE_MEDGEMMA, e) == MG_OK && pr.calls == 2, "progress once per image");
    mg_image_embd_free(&e[0]); mg_image_embd_free(&e[1]);
    pr.calls = 0; pr.cancel_at = 1;
    CHECK(mg_encode_images(s, mi, 2, MG_IMAGE_MEDGEMMA, e) == MG_ERR_CANCELLED && pr.calls == 1 && e[0].data == NULL, "cancel after the first image");
    mg_session_free(s);
    /* errors: no vision tower; bad images */
    s = fix_session(text, 1, 0);
    CHECK(mg_encode_image(s, &mi[0], MG_IMAGE_MEDGEMMA, &e[0]) == MG_ERR_NO_VISION && strstr(mg_session_error(s), "mmproj"), "no vision: %s", mg_session_error(s));
    {
        mg_chat_item it = { NULL, NULL };
        mg_chat_turn turn = { "user", &it, 1 };
        mg_prompt p;
        CHECK(mg_chat_build(text, NULL, &turn, 1, 1, &p, NULL) == MG_ERR_NO_VISION, "chat image without vision");
    }
    mg_session_free(s);
    s = fix_session(m, 1, 0);
    mi[0].channels = 5;
    CHECK(mg_encode_image(s, &mi[0], MG_IMAGE_MEDGEMMA, &e[0]) == MG_ERR_INVALID_ARG, "5 channels");
    mi[0].channels = 3; mi[0].w = 70000; mi[0].h = 70000;
    CHECK(mg_encode_image(s, &mi[0], MG_IMAGE_MEDGEMMA, &e[0]) == MG_ERR_LIMIT, "too many pixels");
    mg_session_free(s);
    mg_session_free(s2);
    mgx_image_free(&a); mgx_image_free(&b);
    mg_model_free(m); mg_model_free(text);
}

/* Ollama's layout: the text file with v.* / mm.* tensors and gemma3.vision.* keys inside, made here with the
   GGUF writer from the two llama.cpp files; it must give the same embeddings and logits. */
static void check_ollama_layout(void) {
    static const char *const ren[][2] = {
        { "v.patch_embd.", "v.patch_embedding." }, { "v.position_embd.", "v.position_embedding." }, { "v.post_ln.", "v.post_layernorm." },
        { "mm.soft_emb_norm.", "mm.mm_soft_emb_norm." }, { "mm.input_projection.", "mm.mm_input_projection." },
        { ".ln1.", ".layer_norm1." }, { ".ln2.", ".layer_norm2." }, { ".attn_out.", ".attn_output." },
        { ".ffn_up.", ".mlp.fc1." }, { ".ffn_down.", ".mlp.fc2." } };
    mg_model *tm = load(FIX_DIR "models/tiny-f32.gguf", NULL), *vm = load(FIX_DIR "models/mmproj-tiny-f32.gguf", NULL), *om = NULL;
    mg_model *ref = load(FIX_DIR "models/tiny-f32.gguf", FIX_DIR "models/mmproj-tiny-f32.gguf");
    const mg_gguf *tg = mg_model_gguf(tm), *vg = mg_model_gguf(vm);
    mg_gguf_writer *w = NULL;
    void *buf = NULL;
    size_t size = 0;
    int64_t i;
    mg_error e;
    int k;
    if (!tm || !vm || !ref || mg_gguf_writer_new(&w, 0) != MG_OK) { CHECK(0, "setup"); return; }
    for (i = 0; i < mg_gguf_kv_count(tg); i++) mg_gguf_writer_copy_kv(w, tg, i);
    mg_gguf_writer_set_u32(w, "gemma3.vision.block_count", 2);
    mg_gguf_writer_set_u32(w, "gemma3.vision.embedding_length", 128);
    mg_gguf_writer_set_u32(w, "gemma3.vision.attention.head_count", 2);
    mg_gguf_writer_set_u32(w, "gemma3.vision.image_size", 896);
    mg_gguf_writer_set_u32(w, "gemma3.vision.patch_size", 14);
    mg_gguf_writer_set_f32(w, "gemma3.vision.attention.layer_norm_epsilon", 1e-6f);
    mg_gguf_writer_set_u32(w, "gemma3.mm.tokens_per_image", 256);
    for (i = 0; i < mg_gguf_tensor_count(tg); i++) {
        mg_tensor_info t;
        mg_gguf_tensor(tg, i, &t);
        mg_gguf_writer_add_tensor(w, t.name, t.type, t.n_dims, t.ne, mg_gguf_tensor_data(tg, i), (size_t)t.nbytes);
    }
    for (i = 0; i < mg_gguf_tensor_count(vg); i++) {
        mg_tensor_info t;
        char name[128], *p;
        mg_gguf_tensor(vg, i, &t);
        snprintf(name, sizeof name, "%s", t.name);
        for (k = 0; k < 10; k++)
            if ((p = strstr(name, ren[k][0])) != NULL) {
                char tail[128];
                snprintf(tail, sizeof tail, "%s", p + strlen(ren[k][0]));
                snprintf(p, sizeof name - (size_t)(p - name), "%s%s", ren[k][1], tail);
            }
        CHECK(mg_gguf_writer_add_tensor(w, name, t.type, t.n_dims, t.ne, mg_gguf_tensor_data(vg, i), (size_t)t.nbytes) == MG_OK, "add %s", name);
    }
    CHECK(mg_gguf_writer_write_mem(w, &buf, &size) == MG_OK, "write single file");
    CHECK(mg_model_load_mem(&om, buf, size, NULL, &e) == MG_OK, "Ollama layout loads: %s", e.message);
    if (om) {
        mg_model_info info;
        mgx_image img;
        mg_image mi;
        mg_image_embd a, b;
        mg_session *s1 = fix_session(om, 2, 0), *s2 = fix_session(ref, 2, 0);
        mg_model_get_info(om, &info);
        CHECK(info.has_vision && info.image_tokens == 256 && mg_model_gguf_vision(om) == mg_model_gguf(om), "vision found inside the text file");
        load_image(FIX_DIR "images/img-small-300x200.png", &img, &mi);
        CHECK(mg_encode_image(s1, &mi, MG_IMAGE_LLAMACPP, &a) == MG_OK && mg_encode_image(s2, &mi, MG_IMAGE_LLAMACPP, &b) == MG_OK, "encode both");
        CHECK(a.data && b.data && memcmp(a.data, b.data, 65536 * sizeof(float)) == 0, "identical embeddings");
        CHECK(image_prompt(s1, om, &a) && image_prompt(s2, ref, &b) && memcmp(mg_logits(s1), mg_logits(s2), 8192 * 4) == 0, "identical logits");
        mg_image_embd_free(&a); mg_image_embd_free(&b);
        mgx_image_free(&img);
        mg_session_free(s1); mg_session_free(s2);
        mg_model_free(om);
    }
    {   /* a projector whose width does not match the text model is refused, naming both widths */
        mg_gguf_writer *w2 = NULL;
        mg_model *bad = NULL;
        mg_model_options o;
        void *b2 = NULL;
        size_t n2 = 0;
        uint16_t *zeros = (uint16_t *)calloc(512 * 128, 2);
        int64_t wide[2] = { 512, 128 };
        mg_gguf_writer_new(&w2, 0);
        for (i = 0; i < mg_gguf_kv_count(vg); i++) mg_gguf_writer_copy_kv(w2, vg, i);
        for (i = 0; i < mg_gguf_tensor_count(vg); i++) {
            mg_tensor_info t;
            mg_gguf_tensor(vg, i, &t);
            if (!strcmp(t.name, "mm.input_projection.weight")) mg_gguf_writer_add_tensor(w2, t.name, MG_TYPE_F16, 2, wide, zeros, 512 * 128 * 2);
            else mg_gguf_writer_add_tensor(w2, t.name, t.type, t.n_dims, t.ne, mg_gguf_tensor_data(vg, i), (size_t)t.nbytes);
        }
        mg_gguf_writer_write_mem(w2, &b2, &n2);
        memset(&o, 0, sizeof o);
        o.mmproj_data = b2; o.mmproj_size = n2;
        CHECK(mg_model_load_file(&bad, FIX_DIR "models/tiny-f32.gguf", &o, &e) == MG_ERR_MODEL && bad == NULL &&
              strstr(e.message, "512") && strstr(e.message, "256"), "wrong projector width refused: %s", e.message);
        o.mmproj_data = NULL; o.mmproj_size = 0; o.mmproj_path = FIX_DIR "models/tiny-q8_0.gguf";
        CHECK(mg_model_load_file(&bad, FIX_DIR "models/tiny-f32.gguf", &o, &e) == MG_ERR_UNSUPPORTED, "a text file as mmproj: %s", e.message);
        mg_gguf_writer_free(w2);
        free(b2); free(zeros);
    }
    mg_gguf_writer_free(w);
    free(buf);
    mg_model_free(tm); mg_model_free(vm); mg_model_free(ref);
}

/* The default products (vision_f32 = 0): bf16 where the build has bf16 dot products, each product off by ~2^-9
   relative, so embeddings sit ~0.035 from llama.cpp's (float: ~0.005); still the same greedy continuation.
   Without bf16 dot products the default is the float path, bit for bit. */
static void check_default_products(void) {
    mg_model *tm = load(FIX_DIR "models/tiny-f32.gguf", FIX_DIR "models/mmproj-tiny-f32.gguf");
    mg_session *s = NULL, *fs = fix_session(tm, 2, 0);
    mg_session_options o;
    mgx_image img;
    mg_image mi;
    mg_image_embd e, fe;
    mgx_json *ref;
    int32_t *greedy;
    float *want, d;
    size_t nw;
    int ng, i, same, bf16 = strstr(mg_build_info(), "bf16") != NULL;
    memset(&o, 0, sizeof o);
    o.n_threads = 2; o.n_ctx = 4096; o.kv_type = MG_KV_F32;
    if (!tm || !fs || mg_session_new(&s, tm, &o, NULL) != MG_OK || !load_image(FIX_DIR "images/img-xray-1024x768.png", &img, &mi)) { CHECK(0, "default products setup"); return; }
    want = fix_floats(FIX_DIR "ref/image/tiny-f32.img-xray-1024x768.image_embd.bin", &nw);
    CHECK(mg_encode_image(s, &mi, MG_IMAGE_LLAMACPP, &e) == MG_OK && mg_encode_image(fs, &mi, MG_IMAGE_LLAMACPP, &fe) == MG_OK, "encode");
    same = !memcmp(e.data, fe.data, sizeof(float) * nw);
    d = fix_maxdiff(e.data, want, nw);
    printf("  default products (%s): embeddings max|d| %.5f\n", bf16 ? "bf16" : "float", d);
    CHECK(bf16 ? !same : same, "the default products are %s, not %s", same ? "float" : "not float", bf16 ? "bf16" : "float");
    CHECK(nw == 65536 && d <= 0.06f, "default products: embeddings differ by %g", d);
    ref = fix_json(FIX_DIR "ref/image/tiny-f32.img-xray-1024x768.json");
    greedy = fix_ids(mgx_json_get(ref, "greedy_ids"), &ng);
    CHECK(image_prompt(s, tm, &e), "default products: image prompt");
    for (i = 0; i < ng; i++) {
        int32_t id = fix_argmax(mg_logits(s), 8192);
        if (id != greedy[i] || (i + 1 < ng && mg_eval(s, &id, 1) != MG_OK)) break;
    }
    CHECK(ng == 24 && i == ng, "default products: greedy ids differ at step %d", i);
    free(greedy); free(want); mgx_json_free(ref);
    mg_image_embd_free(&e); mg_image_embd_free(&fe); mgx_image_free(&img);
    mg_session_free(s); mg_session_free(fs); mg_model_free(tm);
}

/* Image embeddings are the same bits for 1, 2 and 3 threads, with float and with bf16 products. */
static void check_threads(void) {
    mg_model *m = load(FIX_DIR "models/mmproj-tiny-f16.gguf", NULL);
    mgx_image img;
    mg_image mi;
    mg_image_embd e[3];
    int bf, th;
    if (!m || !load_image(FIX_DIR "images/img-small-300x200.png", &img, &mi)) { CHECK(0, "threads setup"); return; }
#ifdef MG_NO_SIMD
    for (bf = 0; bf < 1; bf++) {      /* the scalar build has float products only */
#else
    for (bf = 0; bf < 2; bf++) {
#endif
        for (th = 0; th < 3; th++) {
            mg_session *s = NULL;
            mg_session_options o;
            memset(&o, 0, sizeof o);
            o.n_threads = th + 1; o.vision_f32 = !bf;
            CHECK(mg_session_new(&s, m, &o, NULL) == MG_OK && mg_encode_image(s, &mi, MG_IMAGE_MEDGEMMA, &e[th]) == MG_OK, "encode, %d threads", th + 1);
            mg_session_free(s);
        }
        CHECK(!memcmp(e[0].data, e[1].data, sizeof(float) * 256 * 256) && !memcmp(e[0].data, e[2].data, sizeof(float) * 256 * 256),
              "bf16=%d: embeddings differ between 1, 2 and 3 threads", bf);
        for (th = 0; th < 3; th++) mg_image_embd_free(&e[th]);
    }
    mgx_image_free(&img);
    mg_model_free(m);
}

int main(void) {
    check_preprocess();
    check_embeddings_and_logits();
#ifndef MG_REFERENCE   /* the plain path (a float attention over 4096 patches per head) runs the fixtures only */
    check_default_products();
    check_threads();
    check_prompts_and_errors();
    check_ollama_layout();
#endif
    return MG_TEST_END();
}
