/* random_model.c — layout, initialisation and writing of real-shape random models (`voicebox dev
 * random-model`).
 *
 * The layout rules mirror the official modules' state_dict names and shapes (docs/engine.md §1.4, §1.5,
 * §3.2, §3.4, §7): checked against the golden fixtures' key lists by tests/test_random_model.sh. Values come
 * from one random stream per (tensor, 1M-element chunk), so the output depends on the seed only, not on the
 * thread count. This file must not load or run any model: it only writes files.
 */
#include "cli/random_model.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- presets ------------------------------------------------------------------------------------------ */

static void stack(qt_stack_config *s, int hidden, int inter, int layers, int heads, int kv, int head_dim,
                  int vocab, int max_pos)
{
    *s = (qt_stack_config){.hidden = hidden,
                           .intermediate = inter,
                           .n_layers = layers,
                           .n_heads = heads,
                           .n_kv_heads = kv,
                           .head_dim = head_dim,
                           .vocab_size = vocab,
                           .num_code_groups = 16,
                           .max_position_embeddings = max_pos,
                           .rms_norm_eps = 1e-6f,
                           .rope_theta = 1000000.0f};
}

static const qt_named_id languages[10] = {
    {"chinese", 2055}, {"english", 2050},  {"german", 2053}, {"italian", 2070}, {"portuguese", 2071},
    {"spanish", 2054}, {"japanese", 2058}, {"korean", 2064}, {"french", 2061},  {"russian", 2069}};

int rm_preset(const char *shape, qt_config *c, qt_codec_config *cc)
{
    int real = !strcmp(shape, "0.6B") || !strcmp(shape, "1.7B");
    int tiny = !strcmp(shape, "tiny") || !strcmp(shape, "tiny-a") || !strcmp(shape, "tiny-b");
    if (!real && !tiny) return -1;
    int big = !strcmp(shape, "1.7B") || !strcmp(shape, "tiny-b");
    memset(c, 0, sizeof *c);
    snprintf(c->size, sizeof c->size, "%s", big ? "1.7B" : "0.6B");
    snprintf(c->model_type, sizeof c->model_type, "base");
    snprintf(c->tokenizer_type, sizeof c->tokenizer_type, "qwen3_tts_tokenizer_12hz");
    c->im_start_id = 151644;
    c->im_end_id = 151645;
    c->assistant_id = 77091;
    c->tts_pad_id = 151671;
    c->tts_bos_id = 151672;
    c->tts_eos_id = 151673;
    qt_talker_config *t = &c->talker;
    if (real) {
        int h = big ? 2048 : 1024;
        stack(&t->stack, h, 3 * h, 28, 16, 8, 128, 3072, 32768);
        t->text_hidden_size = 2048;
        t->mrope_section[0] = 24, t->mrope_section[1] = 20, t->mrope_section[2] = 20;
        stack(&c->code_predictor, 1024, 3072, 5, 16, 8, 128, 2048, 65536);
    } else {
        int h = big ? 64 : 32;
        stack(&t->stack, h, 3 * h, 2, 4, 2, 16, 3072, 32768);
        t->text_hidden_size = 8;
        t->mrope_section[0] = 4, t->mrope_section[1] = 2, t->mrope_section[2] = 2;
        stack(&c->code_predictor, 32, 96, 2, 4, 2, 16, 2048, 65536);
    }
    t->text_vocab_size = 151936;
    t->mrope_interleaved = 1;
    t->position_id_per_seconds = 13;
    t->codec_pad_id = 2148, t->codec_bos_id = 2149, t->codec_eos_id = 2150;
    t->codec_think_id = 2154, t->codec_nothink_id = 2155;
    t->codec_think_bos_id = 2156, t->codec_think_eos_id = 2157;
    t->n_languages = 10;
    memcpy(t->languages, languages, sizeof languages);

    qt_speaker_config *s = &c->speaker;
    int ch = real ? 512 : 32;
    *s = (qt_speaker_config){.mel_dim = 128,
                             .enc_dim = t->stack.hidden,
                             .enc_channels = {ch, ch, ch, ch, 3 * ch},
                             .enc_kernel_sizes = {5, 3, 3, 3, 1},
                             .enc_dilations = {1, 2, 3, 4, 1},
                             .enc_attention_channels = real ? 128 : 16,
                             .enc_res2net_scale = 8,
                             .enc_se_channels = real ? 128 : 16,
                             .sample_rate = 24000};

    memset(cc, 0, sizeof *cc);
    snprintf(cc->model_type, sizeof cc->model_type, "qwen3_tts_tokenizer_12hz");
    cc->encoder_valid_num_quantizers = 16;
    cc->input_sample_rate = cc->output_sample_rate = 24000;
    cc->encode_downsample_rate = cc->decode_upsample_rate = 1920;
    qt_codec_decoder_config *d = &cc->decoder;
    *d = (qt_codec_decoder_config){.latent_dim = real ? 1024 : 32,
                                   .codebook_dim = real ? 512 : 16,
                                   .codebook_size = 2048,
                                   .decoder_dim = real ? 1536 : 64,
                                   .hidden = real ? 512 : 32,
                                   .intermediate = real ? 1024 : 64,
                                   .n_layers = real ? 8 : 2,
                                   .n_heads = real ? 16 : 2,
                                   .n_kv_heads = real ? 16 : 2,
                                   .head_dim = real ? 64 : 16,
                                   .max_position_embeddings = 8000,
                                   .sliding_window = 72,
                                   .num_quantizers = 16,
                                   .num_semantic_quantizers = 1,
                                   .semantic_codebook_size = 4096,
                                   .vq_hidden_dim = real ? 512 : 16,
                                   .n_upsample_rates = 4,
                                   .upsample_rates = {8, 5, 4, 3},
                                   .n_upsampling_ratios = 2,
                                   .upsampling_ratios = {2, 2},
                                   .rms_norm_eps = 1e-5f,
                                   .rope_theta = 10000.0f,
                                   .layer_scale_initial_scale = 0.01f};
    qt_codec_encoder_config *e = &cc->encoder;
    *e = (qt_codec_encoder_config){.sampling_rate = 24000,
                                   .frame_rate = 12.5f,
                                   .audio_channels = 1,
                                   .num_filters = real ? 64 : 4,
                                   .kernel_size = 7,
                                   .last_kernel_size = 3,
                                   .residual_kernel_size = 3,
                                   .num_residual_layers = 1,
                                   .dilation_growth_rate = 2,
                                   .compress = 2,
                                   .n_upsampling_ratios = 4,
                                   .upsampling_ratios = {8, 6, 5, 4},
                                   .use_causal_conv = 1,
                                   .use_conv_shortcut = 0,
                                   .pad_constant = 1,
                                   .hidden = real ? 512 : 32,
                                   .intermediate = real ? 2048 : 64,
                                   .n_layers = real ? 8 : 2,
                                   .n_heads = real ? 8 : 2,
                                   .n_kv_heads = real ? 8 : 2,
                                   .head_dim = real ? 64 : 16,
                                   .max_position_embeddings = 8000,
                                   .sliding_window = 250,
                                   .codebook_size = 2048,
                                   .codebook_dim = real ? 256 : 8,
                                   .vq_hidden_dim = real ? 256 : 8,
                                   .num_quantizers = 32,
                                   .num_semantic_quantizers = 1,
                                   .upsample_groups = real ? 512 : 32,
                                   .norm_eps = 1e-5f,
                                   .rope_theta = 10000.0f,
                                   .layer_scale_initial_scale = 0.01f,
                                   .trim_right_ratio = 1.0f};
    return 0;
}

/* ---- layout ------------------------------------------------------------------------------------------- */

static rm_tensor *add(rm_list *l, st_dtype dtype, rm_init init, int n_dims, const int64_t *shape,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static rm_tensor *add(rm_list *l, st_dtype dtype, rm_init init, int n_dims, const int64_t *shape,
                      const char *fmt, ...)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        rm_tensor *t = realloc(l->t, (size_t)cap * sizeof *t);
        if (!t) return NULL;
        l->t = t;
        l->cap = cap;
    }
    rm_tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->dtype = dtype;
    t->init = init;
    t->n_dims = n_dims;
    memcpy(t->shape, shape, (size_t)n_dims * sizeof *shape);
    /* Fan-in of a [out, in, k...] weight; transposed convs fix theirs up after. */
    t->fan_in = n_dims >= 2 ? (float)shape[1] : 1.0f;
    for (int i = 2; i < n_dims; i++)
        t->fan_in *= (float)shape[i];
    t->gain = 1.0f;
    return t;
}

#define S(...) ((const int64_t[]){__VA_ARGS__})
#define ND(...) (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), S(__VA_ARGS__)

/* A name ending picks the initialisation of the model's tensors. */
static rm_init model_init(const char *name, int n_dims)
{
    size_t n = strlen(name);
#define ENDS(s) (n >= strlen(s) && !strcmp(name + n - strlen(s), s))
    if (ENDS(".bias")) return RM_BIAS;
    if (ENDS("norm.weight")) return RM_NORM_GAIN;
    if (strstr(name, "embedding")) return RM_EMBED;
    if (strstr(name, "codec_head") || strstr(name, "lm_head")) return RM_HEAD;
#undef ENDS
    return n_dims >= 2 ? RM_LINEAR : RM_NORM_GAIN;
}

/* One Qwen3 decoder layer (talker or code predictor): 11 tensors. */
static void qwen3_layer(rm_list *l, const char *prefix, int i, const qt_stack_config *s)
{
    int64_t h = s->hidden, q = (int64_t)s->n_heads * s->head_dim, kv = (int64_t)s->n_kv_heads * s->head_dim;
    int64_t inter = s->intermediate, hd = s->head_dim;
    struct {
        const char *name;
        int n_dims;
        int64_t shape[2];
    } parts[] = {{"self_attn.q_proj.weight", 2, {q, h}},        {"self_attn.k_proj.weight", 2, {kv, h}},
                 {"self_attn.v_proj.weight", 2, {kv, h}},       {"self_attn.o_proj.weight", 2, {h, q}},
                 {"self_attn.q_norm.weight", 1, {hd, 0}},       {"self_attn.k_norm.weight", 1, {hd, 0}},
                 {"mlp.gate_proj.weight", 2, {inter, h}},       {"mlp.up_proj.weight", 2, {inter, h}},
                 {"mlp.down_proj.weight", 2, {h, inter}},       {"input_layernorm.weight", 1, {h, 0}},
                 {"post_attention_layernorm.weight", 1, {h, 0}}};
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        char name[112];
        snprintf(name, sizeof name, "%slayers.%d.%s", prefix, i, parts[p].name);
        add(l, ST_BF16, model_init(name, parts[p].n_dims), parts[p].n_dims, parts[p].shape, "%s", name);
    }
}

static int cmp_tensor(const void *a, const void *b)
{
    return strcmp(((const rm_tensor *)a)->name, ((const rm_tensor *)b)->name);
}

/* Sorted by name, the order safetensors writers use. */
static int finish_list(rm_list *l)
{
    if (l->n) qsort(l->t, (size_t)l->n, sizeof *l->t, cmp_tensor);
    return 0;
}

int rm_model_tensors(const qt_config *c, rm_list *l)
{
    memset(l, 0, sizeof *l);
    const qt_talker_config *t = &c->talker;
    const qt_stack_config *ts = &t->stack, *cp = &c->code_predictor;
    int64_t h = ts->hidden, th = t->text_hidden_size;

    add(l, ST_BF16, RM_EMBED, ND(t->text_vocab_size, th), "talker.model.text_embedding.weight");
    add(l, ST_BF16, RM_LINEAR, ND(th, th), "talker.text_projection.linear_fc1.weight");
    add(l, ST_BF16, RM_BIAS, ND(th), "talker.text_projection.linear_fc1.bias");
    add(l, ST_BF16, RM_LINEAR, ND(h, th), "talker.text_projection.linear_fc2.weight");
    add(l, ST_BF16, RM_BIAS, ND(h), "talker.text_projection.linear_fc2.bias");
    add(l, ST_BF16, RM_EMBED, ND(ts->vocab_size, h), "talker.model.codec_embedding.weight");
    for (int i = 0; i < ts->n_layers; i++)
        qwen3_layer(l, "talker.model.", i, ts);
    add(l, ST_BF16, RM_NORM_GAIN, ND(h), "talker.model.norm.weight");
    add(l, ST_BF16, RM_HEAD, ND(ts->vocab_size, h), "talker.codec_head.weight");

    for (int i = 0; i < cp->n_layers; i++)
        qwen3_layer(l, "talker.code_predictor.model.", i, cp);
    add(l, ST_BF16, RM_NORM_GAIN, ND(cp->hidden), "talker.code_predictor.model.norm.weight");
    /* codebooks 1..15: input embeddings at the talker's width, one output head each */
    for (int g = 0; g < cp->num_code_groups - 1; g++) {
        add(l, ST_BF16, RM_EMBED, ND(cp->vocab_size, h),
            "talker.code_predictor.model.codec_embedding.%d.weight", g);
        add(l, ST_BF16, RM_HEAD, ND(cp->vocab_size, cp->hidden), "talker.code_predictor.lm_head.%d.weight",
            g);
    }
    if (cp->hidden != h) { /* Identity when the widths agree (0.6B) */
        add(l, ST_BF16, RM_LINEAR, ND(cp->hidden, h), "talker.code_predictor.small_to_mtp_projection.weight");
        add(l, ST_BF16, RM_BIAS, ND(cp->hidden), "talker.code_predictor.small_to_mtp_projection.bias");
    }

    /* Speaker encoder (ECAPA-TDNN, §3.4); every conv has a bias. */
    const qt_speaker_config *s = &c->speaker;
    const int *ch = s->enc_channels, *k = s->enc_kernel_sizes;
    const char *p = "speaker_encoder.";
    add(l, ST_BF16, RM_LINEAR, ND(ch[0], s->mel_dim, k[0]), "%sblocks.0.conv.weight", p);
    add(l, ST_BF16, RM_BIAS, ND(ch[0]), "%sblocks.0.conv.bias", p);
    for (int b = 1; b <= 3; b++) {
        int64_t c_in = ch[b - 1], c = ch[b], sub = ch[b] / s->enc_res2net_scale;
        add(l, ST_BF16, RM_LINEAR, ND(c, c_in, 1), "%sblocks.%d.tdnn1.conv.weight", p, b);
        add(l, ST_BF16, RM_BIAS, ND(c), "%sblocks.%d.tdnn1.conv.bias", p, b);
        for (int r = 0; r < s->enc_res2net_scale - 1; r++) {
            add(l, ST_BF16, RM_LINEAR, ND(sub, sub, k[b]), "%sblocks.%d.res2net_block.blocks.%d.conv.weight",
                p, b, r);
            add(l, ST_BF16, RM_BIAS, ND(sub), "%sblocks.%d.res2net_block.blocks.%d.conv.bias", p, b, r);
        }
        add(l, ST_BF16, RM_LINEAR, ND(c, c, 1), "%sblocks.%d.tdnn2.conv.weight", p, b);
        add(l, ST_BF16, RM_BIAS, ND(c), "%sblocks.%d.tdnn2.conv.bias", p, b);
        add(l, ST_BF16, RM_LINEAR, ND(s->enc_se_channels, c, 1), "%sblocks.%d.se_block.conv1.weight", p, b);
        add(l, ST_BF16, RM_BIAS, ND(s->enc_se_channels), "%sblocks.%d.se_block.conv1.bias", p, b);
        add(l, ST_BF16, RM_LINEAR, ND(c, s->enc_se_channels, 1), "%sblocks.%d.se_block.conv2.weight", p, b);
        add(l, ST_BF16, RM_BIAS, ND(c), "%sblocks.%d.se_block.conv2.bias", p, b);
    }
    int64_t cat = (int64_t)ch[1] + ch[2] + ch[3];
    add(l, ST_BF16, RM_LINEAR, ND(ch[4], cat, k[4]), "%smfa.conv.weight", p);
    add(l, ST_BF16, RM_BIAS, ND(ch[4]), "%smfa.conv.bias", p);
    add(l, ST_BF16, RM_LINEAR, ND(s->enc_attention_channels, 3 * (int64_t)ch[4], 1), "%sasp.tdnn.conv.weight",
        p);
    add(l, ST_BF16, RM_BIAS, ND(s->enc_attention_channels), "%sasp.tdnn.conv.bias", p);
    add(l, ST_BF16, RM_LINEAR, ND(ch[4], s->enc_attention_channels, 1), "%sasp.conv.weight", p);
    add(l, ST_BF16, RM_BIAS, ND(ch[4]), "%sasp.conv.bias", p);
    /* fc scaled so the x-vector of a real voice comes out near RMS 1, as the fixtures did (measured with
     * reference.py on the golden mel: 0.29 at gain 0.1 for tiny, 0.6B and 1.7B alike) */
    add(l, ST_BF16, RM_LINEAR, ND(s->enc_dim, 2 * (int64_t)ch[4], 1), "%sfc.weight", p)->gain = 0.345f;
    add(l, ST_BF16, RM_BIAS, ND(s->enc_dim), "%sfc.bias", p);
    return finish_list(l);
}

/* A codebook: cluster_usage, and embed_sum = N(0,1) * usage so that every code vector sum/usage is N(0,1). */
static void codebook(rm_list *l, const char *prefix, const char *sum_name, int64_t size, int64_t dim)
{
    add(l, ST_F32, RM_USAGE, ND(size), "%scluster_usage", prefix);
    add(l, ST_F32, RM_EMBED_SUM, ND(size, dim), "%s%s", prefix, sum_name);
}

int rm_codec_tensors(const qt_codec_config *c, rm_list *l)
{
    memset(l, 0, sizeof *l);
    const qt_codec_encoder_config *e = &c->encoder;
    const qt_codec_decoder_config *d = &c->decoder;
    const st_dtype f = ST_F32;

    /* Mimi SEANet encoder (§3.2): conv, then per ratio (applied in reverse) a residual block, ELU, strided
     * conv. */
    int64_t nf = e->num_filters, mult = 1;
    int idx = 0;
    add(l, f, RM_LINEAR, ND(nf, e->audio_channels, e->kernel_size), "encoder.encoder.layers.%d.conv.weight",
        idx);
    add(l, f, RM_BIAS, ND(nf), "encoder.encoder.layers.%d.conv.bias", idx);
    idx++;
    for (int r = e->n_upsampling_ratios - 1; r >= 0; r--) {
        int64_t dim = mult * nf, hid = dim / e->compress;
        for (int j = 0; j < e->num_residual_layers; j++, idx++) {
            add(l, f, RM_LINEAR, ND(hid, dim, e->residual_kernel_size),
                "encoder.encoder.layers.%d.block.1.conv.weight", idx);
            add(l, f, RM_BIAS, ND(hid), "encoder.encoder.layers.%d.block.1.conv.bias", idx);
            add(l, f, RM_LINEAR, ND(dim, hid, 1), "encoder.encoder.layers.%d.block.3.conv.weight", idx);
            add(l, f, RM_BIAS, ND(dim), "encoder.encoder.layers.%d.block.3.conv.bias", idx);
        }
        idx++; /* ELU */
        add(l, f, RM_LINEAR, ND(2 * dim, dim, 2 * (int64_t)e->upsampling_ratios[r]),
            "encoder.encoder.layers.%d.conv.weight", idx);
        add(l, f, RM_BIAS, ND(2 * dim), "encoder.encoder.layers.%d.conv.bias", idx);
        idx++;
        mult *= 2;
    }
    idx++; /* ELU */
    add(l, f, RM_LINEAR, ND(e->hidden, mult * nf, e->last_kernel_size),
        "encoder.encoder.layers.%d.conv.weight", idx);
    add(l, f, RM_BIAS, ND(e->hidden), "encoder.encoder.layers.%d.conv.bias", idx);

    for (int i = 0; i < e->n_layers; i++) {
        int64_t hd = e->hidden, q = (int64_t)e->n_heads * e->head_dim,
                kv = (int64_t)e->n_kv_heads * e->head_dim;
        const char *p = "encoder.encoder_transformer.layers";
        add(l, f, RM_LINEAR, ND(q, hd), "%s.%d.self_attn.q_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(kv, hd), "%s.%d.self_attn.k_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(kv, hd), "%s.%d.self_attn.v_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(hd, q), "%s.%d.self_attn.o_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(e->intermediate, hd), "%s.%d.mlp.fc1.weight", p, i);
        add(l, f, RM_LINEAR, ND(hd, e->intermediate), "%s.%d.mlp.fc2.weight", p, i);
        add(l, f, RM_NORM_GAIN, ND(hd), "%s.%d.input_layernorm.weight", p, i);
        add(l, f, RM_BIAS, ND(hd), "%s.%d.input_layernorm.bias", p, i);
        add(l, f, RM_NORM_GAIN, ND(hd), "%s.%d.post_attention_layernorm.weight", p, i);
        add(l, f, RM_BIAS, ND(hd), "%s.%d.post_attention_layernorm.bias", p, i);
        add(l, f, RM_SCALE, ND(hd), "%s.%d.self_attn_layer_scale.scale", p, i);
        add(l, f, RM_SCALE, ND(hd), "%s.%d.mlp_layer_scale.scale", p, i);
    }
    add(l, f, RM_LINEAR, ND(e->hidden, e->hidden, 2 * (int64_t)e->compress),
        "encoder.downsample.conv.weight");

    /* Split RVQ: semantic (num_semantic_quantizers layers) and acoustic (the rest), each with projections. */
    const char *rvq[2] = {"semantic_residual_vector_quantizer", "acoustic_residual_vector_quantizer"};
    int n_layers[2] = {e->num_semantic_quantizers, e->num_quantizers - e->num_semantic_quantizers};
    for (int r = 0; r < 2; r++) {
        for (int j = 0; j < n_layers[r]; j++) {
            char prefix[112];
            snprintf(prefix, sizeof prefix, "encoder.quantizer.%s.layers.%d.codebook.", rvq[r], j);
            add(l, f, RM_ONE, ND(1), "%sinitialized", prefix);
            codebook(l, prefix, "embed_sum", e->codebook_size, e->codebook_dim);
        }
        add(l, f, RM_LINEAR, ND(e->vq_hidden_dim, e->hidden, 1), "encoder.quantizer.%s.input_proj.weight",
            rvq[r]);
        add(l, f, RM_LINEAR, ND(e->hidden, e->vq_hidden_dim, 1), "encoder.quantizer.%s.output_proj.weight",
            rvq[r]);
    }

    /* Decoder (§7). */
    int64_t half = d->codebook_dim / 2;
    const char *dq[2] = {"rvq_first", "rvq_rest"};
    int dq_layers[2] = {d->num_semantic_quantizers, d->num_quantizers - d->num_semantic_quantizers};
    for (int r = 0; r < 2; r++) {
        add(l, f, RM_LINEAR, ND(half, d->codebook_dim, 1), "decoder.quantizer.%s.input_proj.weight", dq[r]);
        add(l, f, RM_LINEAR, ND(d->codebook_dim, half, 1), "decoder.quantizer.%s.output_proj.weight", dq[r]);
        for (int j = 0; j < dq_layers[r]; j++) {
            char prefix[112];
            snprintf(prefix, sizeof prefix, "decoder.quantizer.%s.vq.layers.%d._codebook.", dq[r], j);
            codebook(l, prefix, "embedding_sum", d->codebook_size, half);
        }
    }
    int64_t lat = d->latent_dim, hd = d->hidden;
    add(l, f, RM_LINEAR, ND(lat, d->codebook_dim, 3), "decoder.pre_conv.conv.weight");
    add(l, f, RM_BIAS, ND(lat), "decoder.pre_conv.conv.bias");
    add(l, f, RM_LINEAR, ND(hd, lat), "decoder.pre_transformer.input_proj.weight");
    add(l, f, RM_BIAS, ND(hd), "decoder.pre_transformer.input_proj.bias");
    for (int i = 0; i < d->n_layers; i++) {
        int64_t q = (int64_t)d->n_heads * d->head_dim, kv = (int64_t)d->n_kv_heads * d->head_dim;
        const char *p = "decoder.pre_transformer.layers";
        add(l, f, RM_LINEAR, ND(q, hd), "%s.%d.self_attn.q_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(kv, hd), "%s.%d.self_attn.k_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(kv, hd), "%s.%d.self_attn.v_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(hd, q), "%s.%d.self_attn.o_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(d->intermediate, hd), "%s.%d.mlp.gate_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(d->intermediate, hd), "%s.%d.mlp.up_proj.weight", p, i);
        add(l, f, RM_LINEAR, ND(hd, d->intermediate), "%s.%d.mlp.down_proj.weight", p, i);
        add(l, f, RM_NORM_GAIN, ND(hd), "%s.%d.input_layernorm.weight", p, i);
        add(l, f, RM_NORM_GAIN, ND(hd), "%s.%d.post_attention_layernorm.weight", p, i);
        add(l, f, RM_SCALE, ND(hd), "%s.%d.self_attn_layer_scale.scale", p, i);
        add(l, f, RM_SCALE, ND(hd), "%s.%d.mlp_layer_scale.scale", p, i);
    }
    add(l, f, RM_NORM_GAIN, ND(hd), "decoder.pre_transformer.norm.weight");
    add(l, f, RM_LINEAR, ND(lat, hd), "decoder.pre_transformer.output_proj.weight");
    add(l, f, RM_BIAS, ND(lat), "decoder.pre_transformer.output_proj.bias");
    for (int u = 0; u < d->n_upsampling_ratios; u++) {
        int64_t r = d->upsampling_ratios[u];
        /* ConvTranspose1d weight is [in, out, k]; with k = stride each output sees `in` inputs */
        add(l, f, RM_LINEAR, ND(lat, lat, r), "decoder.upsample.%d.0.conv.weight", u)->fan_in = (float)lat;
        add(l, f, RM_BIAS, ND(lat), "decoder.upsample.%d.0.conv.bias", u);
        add(l, f, RM_SCALE, ND(lat), "decoder.upsample.%d.1.gamma", u);
        add(l, f, RM_LINEAR, ND(lat, 1, 7), "decoder.upsample.%d.1.dwconv.conv.weight", u);
        add(l, f, RM_BIAS, ND(lat), "decoder.upsample.%d.1.dwconv.conv.bias", u);
        add(l, f, RM_NORM_GAIN, ND(lat), "decoder.upsample.%d.1.norm.weight", u);
        add(l, f, RM_BIAS, ND(lat), "decoder.upsample.%d.1.norm.bias", u);
        add(l, f, RM_LINEAR, ND(4 * lat, lat), "decoder.upsample.%d.1.pwconv1.weight", u);
        add(l, f, RM_BIAS, ND(4 * lat), "decoder.upsample.%d.1.pwconv1.bias", u);
        add(l, f, RM_LINEAR, ND(lat, 4 * lat), "decoder.upsample.%d.1.pwconv2.weight", u);
        add(l, f, RM_BIAS, ND(lat), "decoder.upsample.%d.1.pwconv2.bias", u);
    }
    int64_t dd = d->decoder_dim;
    add(l, f, RM_LINEAR, ND(dd, lat, 7), "decoder.decoder.0.conv.weight");
    add(l, f, RM_BIAS, ND(dd), "decoder.decoder.0.conv.bias");
    int64_t cin = dd;
    for (int b = 0; b < d->n_upsample_rates; b++) {
        int64_t r = d->upsample_rates[b], cout = cin / 2;
        int blk = b + 1;
        add(l, f, RM_SNAKE, ND(cin), "decoder.decoder.%d.block.0.alpha", blk);
        add(l, f, RM_SNAKE, ND(cin), "decoder.decoder.%d.block.0.beta", blk);
        /* ConvTranspose1d [in, out, 2r], stride r: each output sees 2 taps of every input channel */
        add(l, f, RM_LINEAR, ND(cin, cout, 2 * r), "decoder.decoder.%d.block.1.conv.weight", blk)->fan_in =
            (float)(2 * cin);
        add(l, f, RM_BIAS, ND(cout), "decoder.decoder.%d.block.1.conv.bias", blk);
        for (int u = 2; u <= 4; u++) {
            const char *p = "decoder.decoder";
            add(l, f, RM_SNAKE, ND(cout), "%s.%d.block.%d.act1.alpha", p, blk, u);
            add(l, f, RM_SNAKE, ND(cout), "%s.%d.block.%d.act1.beta", p, blk, u);
            add(l, f, RM_LINEAR, ND(cout, cout, 7), "%s.%d.block.%d.conv1.conv.weight", p, blk, u);
            add(l, f, RM_BIAS, ND(cout), "%s.%d.block.%d.conv1.conv.bias", p, blk, u);
            add(l, f, RM_SNAKE, ND(cout), "%s.%d.block.%d.act2.alpha", p, blk, u);
            add(l, f, RM_SNAKE, ND(cout), "%s.%d.block.%d.act2.beta", p, blk, u);
            add(l, f, RM_LINEAR, ND(cout, cout, 1), "%s.%d.block.%d.conv2.conv.weight", p, blk, u);
            add(l, f, RM_BIAS, ND(cout), "%s.%d.block.%d.conv2.conv.bias", p, blk, u);
        }
        cin = cout;
    }
    int last = d->n_upsample_rates + 1;
    add(l, f, RM_SNAKE, ND(cin), "decoder.decoder.%d.alpha", last);
    add(l, f, RM_SNAKE, ND(cin), "decoder.decoder.%d.beta", last);
    /* the waveform: scaled so the output stays well inside the final clamp(-1, 1) */
    add(l, f, RM_LINEAR, ND(1, cin, 7), "decoder.decoder.%d.conv.weight", last + 1)->gain = 0.0013f;
    add(l, f, RM_BIAS, ND(1), "decoder.decoder.%d.conv.bias", last + 1);
    return finish_list(l);
}

/* ---- Whisper ------------------------------------------------------------------------------------------ */

static const rm_whisper whisper_shapes[] = {
    {"whisper-tiny", 80, 384, 4, 4, 6, 51865},
    {"whisper-base", 80, 512, 6, 6, 8, 51865},
    {"whisper-small", 80, 768, 12, 12, 12, 51865},
};

int rm_whisper_preset(const char *shape, rm_whisper *w)
{
    for (size_t i = 0; i < sizeof whisper_shapes / sizeof *whisper_shapes; i++)
        if (!strcmp(shape, whisper_shapes[i].name)) {
            *w = whisper_shapes[i];
            return 0;
        }
    return -1;
}

/* One encoder or decoder layer as transformers names it (the key projections have no bias). */
static void whisper_layer(rm_list *l, const char *side, int i, int64_t d, int cross)
{
    const char *attn[2] = {"self_attn", "encoder_attn"};
    for (int a = 0; a < (cross ? 2 : 1); a++) {
        const char *proj[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        for (int p = 0; p < 4; p++) {
            add(l, ST_F32, RM_LINEAR, ND(d, d), "model.%s.layers.%d.%s.%s.weight", side, i, attn[a], proj[p]);
            if (p != 1)
                add(l, ST_F32, RM_BIAS, ND(d), "model.%s.layers.%d.%s.%s.bias", side, i, attn[a], proj[p]);
        }
        add(l, ST_F32, RM_NORM_GAIN, ND(d), "model.%s.layers.%d.%s_layer_norm.weight", side, i, attn[a]);
        add(l, ST_F32, RM_BIAS, ND(d), "model.%s.layers.%d.%s_layer_norm.bias", side, i, attn[a]);
    }
    add(l, ST_F32, RM_LINEAR, ND(4 * d, d), "model.%s.layers.%d.fc1.weight", side, i);
    add(l, ST_F32, RM_BIAS, ND(4 * d), "model.%s.layers.%d.fc1.bias", side, i);
    add(l, ST_F32, RM_LINEAR, ND(d, 4 * d), "model.%s.layers.%d.fc2.weight", side, i);
    add(l, ST_F32, RM_BIAS, ND(d), "model.%s.layers.%d.fc2.bias", side, i);
    add(l, ST_F32, RM_NORM_GAIN, ND(d), "model.%s.layers.%d.final_layer_norm.weight", side, i);
    add(l, ST_F32, RM_BIAS, ND(d), "model.%s.layers.%d.final_layer_norm.bias", side, i);
}

int rm_whisper_tensors(const rm_whisper *w, rm_list *l)
{
    memset(l, 0, sizeof *l);
    int64_t d = w->d;
    add(l, ST_F32, RM_LINEAR, ND(d, w->n_mels, 3), "model.encoder.conv1.weight");
    add(l, ST_F32, RM_BIAS, ND(d), "model.encoder.conv1.bias");
    add(l, ST_F32, RM_LINEAR, ND(d, d, 3), "model.encoder.conv2.weight");
    add(l, ST_F32, RM_BIAS, ND(d), "model.encoder.conv2.bias");
    add(l, ST_F32, RM_BIAS, ND(1500, d), "model.encoder.embed_positions.weight");
    for (int i = 0; i < w->enc_layers; i++)
        whisper_layer(l, "encoder", i, d, 0);
    add(l, ST_F32, RM_NORM_GAIN, ND(d), "model.encoder.layer_norm.weight");
    add(l, ST_F32, RM_BIAS, ND(d), "model.encoder.layer_norm.bias");
    add(l, ST_F32, RM_EMBED, ND(w->n_vocab, d), "model.decoder.embed_tokens.weight");
    add(l, ST_F32, RM_BIAS, ND(448, d), "model.decoder.embed_positions.weight");
    for (int i = 0; i < w->dec_layers; i++)
        whisper_layer(l, "decoder", i, d, 1);
    add(l, ST_F32, RM_NORM_GAIN, ND(d), "model.decoder.layer_norm.weight");
    add(l, ST_F32, RM_BIAS, ND(d), "model.decoder.layer_norm.bias");
    return finish_list(l);
}

static char *dump(json_t *root);

char *rm_whisper_config_json(const rm_whisper *w)
{
    json_t *o =
        json_pack("{s:[s], s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:i, s:i, "
                  "s:i, s:i, s:s}",
                  "architectures", "WhisperForConditionalGeneration", "model_type", "whisper",
                  "activation_function", "gelu", "d_model", w->d, "num_mel_bins", w->n_mels, "encoder_layers",
                  w->enc_layers, "decoder_layers", w->dec_layers, "encoder_attention_heads", w->heads,
                  "decoder_attention_heads", w->heads, "encoder_ffn_dim", 4 * w->d, "decoder_ffn_dim",
                  4 * w->d, "max_source_positions", 1500, "max_target_positions", 448, "vocab_size",
                  w->n_vocab, "scale_embedding", 0, "bos_token_id", 50257, "eos_token_id", 50257,
                  "pad_token_id", 50257, "decoder_start_token_id", 50258, "torch_dtype", "float32");
    return o ? dump(o) : NULL;
}

void rm_list_free(rm_list *l)
{
    if (l) {
        free(l->t);
        memset(l, 0, sizeof *l);
    }
}

static uint64_t elements(const rm_tensor *t)
{
    uint64_t n = 1;
    for (int i = 0; i < t->n_dims; i++)
        n *= (uint64_t)t->shape[i];
    return n;
}

uint64_t rm_list_params(const rm_list *l)
{
    uint64_t n = 0;
    for (int i = 0; i < l->n; i++)
        n += elements(&l->t[i]);
    return n;
}

uint64_t rm_list_bytes(const rm_list *l)
{
    uint64_t n = 0;
    for (int i = 0; i < l->n; i++)
        n += elements(&l->t[i]) * st_dtype_size(l->t[i].dtype);
    return n;
}

/* ---- values ------------------------------------------------------------------------------------------- */

#define RM_CHUNK (1u << 20) /* elements per random stream and per work item */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return splitmix64(seed ^ h);
}

/* wyrand: one multiply per 64 bits, good enough for weights. */
static inline uint64_t rng_next(uint64_t *s)
{
    *s += 0xa0761d6478bd642full;
    __uint128_t t = (__uint128_t)*s * (*s ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(t >> 64) ^ (uint64_t)t;
}

static inline float rng_uniform(uint64_t *s)
{
    return (float)(rng_next(s) >> 40) * (1.0f / 16777216.0f);
}

/* Irwin-Hall with four 16-bit uniforms: mean 0, variance 1, tails cut at 3.46: cheap and plenty normal for
 * random weights. */
static inline float rng_normal(uint64_t *s)
{
    uint64_t r = rng_next(s);
    float sum =
        (float)(r & 0xffff) + (float)((r >> 16) & 0xffff) + (float)((r >> 32) & 0xffff) + (float)(r >> 48);
    return (sum * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
}

static inline uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even; our values are finite */
    return (uint16_t)(u >> 16);
}

/* Fills count values of tensor t starting at element first (a multiple of RM_CHUNK) into out. */
static void fill(const rm_tensor *t, uint64_t seed, uint64_t first, uint64_t count, void *out)
{
    uint64_t s = splitmix64(name_seed(seed, t->name) ^ (first / RM_CHUNK) * 0x9e3779b97f4a7c15ull);
    float *usage = NULL;
    int64_t dim = t->n_dims >= 2 ? t->shape[1] : 1;
    if (t->init == RM_EMBED_SUM) {
        /* usage values of the sibling ...cluster_usage tensor: regenerate its (single) stream */
        char uname[sizeof t->name];
        snprintf(uname, sizeof uname, "%s", t->name);
        char *dot = strrchr(uname, '.');
        if (dot) snprintf(dot + 1, sizeof uname - (size_t)(dot + 1 - uname), "cluster_usage");
        rm_tensor u = *t;
        snprintf(u.name, sizeof u.name, "%s", uname);
        u.init = RM_USAGE;
        u.n_dims = 1;
        usage = malloc((size_t)t->shape[0] * sizeof *usage);
        if (usage) fill(&u, seed, 0, (uint64_t)t->shape[0], usage);
    }
    float std = 1.0f;
    if (t->init == RM_LINEAR)
        std = t->gain / sqrtf(t->fan_in);
    else if (t->init == RM_HEAD)
        std = 6.0f / sqrtf(t->fan_in);
    for (uint64_t i = 0; i < count; i++) {
        float v;
        switch (t->init) {
        case RM_LINEAR:
        case RM_HEAD:
            v = std * rng_normal(&s);
            break;
        case RM_EMBED:
            v = rng_normal(&s);
            break;
        case RM_NORM_GAIN:
            v = 1.0f + 0.1f * rng_normal(&s);
            break;
        case RM_BIAS:
            v = 0.02f * rng_normal(&s);
            break;
        case RM_SCALE:
            v = 0.2f + 0.4f * rng_uniform(&s);
            break;
        case RM_SNAKE:
            v = 0.2f * rng_normal(&s);
            break;
        case RM_USAGE:
            v = 0.5f + 1.5f * rng_uniform(&s);
            break;
        case RM_EMBED_SUM:
            v = rng_normal(&s) * (usage ? usage[(first + i) / (uint64_t)dim] : 1.0f);
            break;
        case RM_ONE:
        default:
            v = 1.0f;
            break;
        }
        if (t->dtype == ST_BF16)
            ((uint16_t *)out)[i] = to_bf16(v);
        else
            ((float *)out)[i] = v;
    }
    free(usage);
}

/* ---- writing ------------------------------------------------------------------------------------------ */

static int write_all(int fd, const void *buf, size_t n, const char *path, qt_error *err)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n < (1u << 30) ? n : (1u << 30));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return qt_fail(err, QT_ERR_IO, "%s: write failed (%s)", path,
                           w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The temporary name beside `path` that is renamed over it when complete. */
static void temp_name(char *out, size_t size, const char *path)
{
    snprintf(out, size, "%s.tmp-%ld", path, (long)getpid());
}

int rm_write_text(const char *path, const char *text, qt_error *err)
{
    char tmp[4200];
    temp_name(tmp, sizeof tmp, path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return qt_fail(err, QT_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    if (write_all(fd, text, strlen(text), tmp, err) || close(fd) != 0) {
        unlink(tmp);
        return qt_fail(err, QT_ERR_IO, "%s: write failed", path);
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return qt_fail(err, QT_ERR_IO, "%s: cannot rename into place (%s)", path, strerror(errno));
    }
    return 0;
}

typedef struct {
    const rm_tensor *t;
    uint64_t first, count;
    void *buf;
} work_item;

typedef struct {
    work_item *items;
    int n_items;
    uint64_t seed;
} work_batch;

static void fill_task(void *ctx, int task, int n_tasks)
{
    work_batch *b = ctx;
    for (int i = task; i < b->n_items; i += n_tasks)
        fill(b->items[i].t, b->seed, b->items[i].first, b->items[i].count, b->items[i].buf);
}

static char *header_json(const rm_list *l, size_t *len)
{
    json_t *root = json_object();
    json_object_set_new(root, "__metadata__", json_pack("{s:s}", "format", "pt"));
    uint64_t off = 0;
    for (int i = 0; i < l->n; i++) {
        const rm_tensor *t = &l->t[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->n_dims; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        uint64_t n = elements(t) * st_dtype_size(t->dtype);
        json_object_set_new(root, t->name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", st_dtype_name(t->dtype), "shape", shape,
                                      "data_offsets", (json_int_t)off, (json_int_t)(off + n)));
        off += n;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) return NULL;
    /* pad with spaces so the data starts 8-byte aligned, as the reference writer does */
    size_t n = strlen(text), padded = (n + 7) & ~(size_t)7;
    char *out = malloc(padded + 1);
    if (out) {
        memcpy(out, text, n);
        memset(out + n, ' ', padded - n);
        out[padded] = 0;
        *len = padded;
    }
    free(text);
    return out;
}

int rm_write_safetensors(const char *path, const rm_list *l, uint64_t seed, int n_threads,
                         rm_progress_fn progress, void *progress_ctx, qt_error *err)
{
    size_t hlen = 0;
    char *header = header_json(l, &hlen);
    if (!header) return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory building the header", path);
    char tmp[4200];
    temp_name(tmp, sizeof tmp, path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(header);
        return qt_fail(err, QT_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    }
    int rc = -1;
    qt_pool *pool = n_threads > 1 ? qt_pool_new(n_threads) : NULL;
    int per_batch = 4 * (n_threads > 0 ? n_threads : 1);
    work_item *items = calloc((size_t)per_batch, sizeof *items);
    void *bufs = malloc((size_t)per_batch * RM_CHUNK * 4);
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    if (!items || !bufs) {
        qt_fail(err, QT_ERR_NOMEM, "%s: out of memory for write buffers", path);
        goto fail;
    }
    if (write_all(fd, len8, 8, tmp, err) || write_all(fd, header, hlen, tmp, err)) goto fail;
    uint64_t total = rm_list_bytes(l), done = 0;
    int ti = 0;
    uint64_t next = 0; /* next element of tensor ti */
    while (ti < l->n) {
        work_batch b = {items, 0, seed};
        while (b.n_items < per_batch && ti < l->n) {
            const rm_tensor *t = &l->t[ti];
            uint64_t n = elements(t), count = n - next < RM_CHUNK ? n - next : RM_CHUNK;
            if (count) {
                items[b.n_items] =
                    (work_item){t, next, count, (char *)bufs + (size_t)b.n_items * RM_CHUNK * 4};
                b.n_items++;
            }
            next += count;
            if (next >= n) {
                ti++;
                next = 0;
            }
        }
        qt_pool_run(pool, fill_task, &b, pool ? qt_pool_threads(pool) : 1);
        for (int i = 0; i < b.n_items; i++) {
            size_t bytes = (size_t)items[i].count * st_dtype_size(items[i].t->dtype);
            if (write_all(fd, items[i].buf, bytes, tmp, err)) goto fail;
            done += bytes;
        }
        if (progress) progress(progress_ctx, done, total);
    }
    if (close(fd) != 0) {
        fd = -1;
        qt_fail(err, QT_ERR_IO, "%s: close failed (%s)", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        qt_fail(err, QT_ERR_IO, "%s: cannot rename into place (%s)", path, strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    if (fd >= 0) close(fd);
    if (rc) unlink(tmp);
    qt_pool_free(pool);
    free(items);
    free(bufs);
    free(header);
    return rc;
}

/* ---- configs ------------------------------------------------------------------------------------------ */

/* A float config value as the release writes it (1e-06, not 9.9999999747524271e-07). */
static json_t *jreal(float f)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", (double)f);
    return json_real(strtod(buf, NULL));
}

static json_t *jints(const int *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static void stack_fields(json_t *o, const qt_stack_config *s)
{
    json_object_set_new(o, "attention_bias", json_false());
    json_object_set_new(o, "attention_dropout", json_integer(0));
    json_object_set_new(o, "head_dim", json_integer(s->head_dim));
    json_object_set_new(o, "hidden_act", json_string("silu"));
    json_object_set_new(o, "hidden_size", json_integer(s->hidden));
    json_object_set_new(o, "initializer_range", jreal(0.02f));
    json_object_set_new(o, "intermediate_size", json_integer(s->intermediate));
    json_object_set_new(o, "max_position_embeddings", json_integer(s->max_position_embeddings));
    json_object_set_new(o, "num_attention_heads", json_integer(s->n_heads));
    json_object_set_new(o, "num_code_groups", json_integer(s->num_code_groups));
    json_object_set_new(o, "num_hidden_layers", json_integer(s->n_layers));
    json_object_set_new(o, "num_key_value_heads", json_integer(s->n_kv_heads));
    json_object_set_new(o, "rms_norm_eps", jreal(s->rms_norm_eps));
    json_object_set_new(o, "rope_theta", json_integer((json_int_t)s->rope_theta));
    json_object_set_new(o, "sliding_window", json_null());
    json_object_set_new(o, "use_cache", json_true());
    json_object_set_new(o, "use_sliding_window", json_false());
    json_object_set_new(o, "vocab_size", json_integer(s->vocab_size));
}

static char *dump(json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text) return NULL;
    size_t n = strlen(text);
    char *out = realloc(text, n + 2);
    if (!out) {
        free(text);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = 0;
    return out;
}

char *rm_config_json(const qt_config *c, int full_speaker)
{
    const qt_talker_config *t = &c->talker;
    json_t *root = json_object();
    json_object_set_new(root, "architectures", json_pack("[s]", "Qwen3TTSForConditionalGeneration"));
    json_object_set_new(root, "assistant_token_id", json_integer(c->assistant_id));
    json_object_set_new(root, "im_end_token_id", json_integer(c->im_end_id));
    json_object_set_new(root, "im_start_token_id", json_integer(c->im_start_id));
    json_object_set_new(root, "tts_bos_token_id", json_integer(c->tts_bos_id));
    json_object_set_new(root, "tts_eos_token_id", json_integer(c->tts_eos_id));
    json_object_set_new(root, "tts_pad_token_id", json_integer(c->tts_pad_id));
    json_object_set_new(root, "model_type", json_string("qwen3_tts"));
    json_object_set_new(root, "tokenizer_type", json_string(c->tokenizer_type));
    json_object_set_new(root, "tts_model_size", json_string(!strcmp(c->size, "1.7B") ? "1b7" : "0b6"));
    json_object_set_new(root, "tts_model_type", json_string(c->model_type));

    const qt_speaker_config *s = &c->speaker;
    json_t *se = json_object();
    if (full_speaker) {
        json_object_set_new(se, "mel_dim", json_integer(s->mel_dim));
        json_object_set_new(se, "enc_dim", json_integer(s->enc_dim));
        json_object_set_new(se, "enc_channels", jints(s->enc_channels, 5));
        json_object_set_new(se, "enc_kernel_sizes", jints(s->enc_kernel_sizes, 5));
        json_object_set_new(se, "enc_dilations", jints(s->enc_dilations, 5));
        json_object_set_new(se, "enc_attention_channels", json_integer(s->enc_attention_channels));
        json_object_set_new(se, "enc_res2net_scale", json_integer(s->enc_res2net_scale));
        json_object_set_new(se, "enc_se_channels", json_integer(s->enc_se_channels));
    } else {
        json_object_set_new(se, "enc_dim", json_integer(s->enc_dim));
    }
    json_object_set_new(se, "sample_rate", json_integer(s->sample_rate));
    json_object_set_new(root, "speaker_encoder_config", se);

    json_t *tk = json_object();
    json_t *cp = json_object();
    stack_fields(cp, &c->code_predictor);
    /* the release serialises the code predictor as a full HF config; these are the generation fields */
    json_object_set_new(cp, "model_type", json_string("qwen3_tts_talker_code_predictor"));
    json_object_set_new(cp, "layer_types", json_array());
    for (int i = 0; i < c->code_predictor.n_layers; i++)
        json_array_append_new(json_object_get(cp, "layer_types"), json_string("full_attention"));
    json_object_set_new(cp, "max_window_layers", json_integer(28));
    json_object_set_new(cp, "rope_scaling", json_null());
    json_object_set_new(cp, "do_sample", json_false());
    json_object_set_new(cp, "temperature", jreal(1.0f));
    json_object_set_new(cp, "top_k", json_integer(50));
    json_object_set_new(cp, "top_p", jreal(1.0f));
    json_object_set_new(cp, "repetition_penalty", jreal(1.0f));
    json_object_set_new(cp, "max_length", json_integer(20));
    json_object_set_new(cp, "tie_word_embeddings", json_false());
    json_object_set_new(tk, "code_predictor_config", cp);
    json_object_set_new(tk, "codec_bos_id", json_integer(t->codec_bos_id));
    json_object_set_new(tk, "codec_eos_token_id", json_integer(t->codec_eos_id));
    json_object_set_new(tk, "codec_think_id", json_integer(t->codec_think_id));
    json_t *lang = json_object();
    for (int i = 0; i < t->n_languages; i++)
        json_object_set_new(lang, t->languages[i].name, json_integer(t->languages[i].id));
    json_object_set_new(tk, "codec_language_id", lang);
    json_object_set_new(tk, "codec_nothink_id", json_integer(t->codec_nothink_id));
    json_object_set_new(tk, "codec_pad_id", json_integer(t->codec_pad_id));
    json_object_set_new(tk, "codec_think_bos_id", json_integer(t->codec_think_bos_id));
    json_object_set_new(tk, "codec_think_eos_id", json_integer(t->codec_think_eos_id));
    json_object_set_new(tk, "spk_id", json_object());
    json_object_set_new(tk, "spk_is_dialect", json_object());
    stack_fields(tk, &t->stack);
    json_object_set_new(tk, "model_type", json_string("qwen3_tts_talker"));
    json_object_set_new(tk, "position_id_per_seconds", json_integer(t->position_id_per_seconds));
    json_object_set_new(tk, "rope_scaling",
                        json_pack("{s:b, s:o, s:s, s:s}", "interleaved", t->mrope_interleaved,
                                  "mrope_section", jints(t->mrope_section, 3), "rope_type", "default", "type",
                                  "default"));
    json_object_set_new(tk, "text_hidden_size", json_integer(t->text_hidden_size));
    json_object_set_new(tk, "text_vocab_size", json_integer(t->text_vocab_size));
    json_object_set_new(tk, "pad_token_id", json_integer(t->codec_pad_id));
    json_object_set_new(root, "talker_config", tk);
    json_object_set_new(root, "transformers_version", json_string("4.57.3"));
    return dump(root);
}

char *rm_codec_config_json(const qt_codec_config *c)
{
    const qt_codec_decoder_config *d = &c->decoder;
    const qt_codec_encoder_config *e = &c->encoder;
    json_t *root = json_object();
    json_object_set_new(root, "architectures", json_pack("[s]", "Qwen3TTSTokenizerV2Model"));
    json_object_set_new(root, "model_type", json_string(c->model_type));
    json_object_set_new(root, "encoder_valid_num_quantizers", json_integer(c->encoder_valid_num_quantizers));
    json_object_set_new(root, "input_sample_rate", json_integer(c->input_sample_rate));
    json_object_set_new(root, "output_sample_rate", json_integer(c->output_sample_rate));
    json_object_set_new(root, "decode_upsample_rate", json_integer(c->decode_upsample_rate));
    json_object_set_new(root, "encode_downsample_rate", json_integer(c->encode_downsample_rate));

    json_t *dj = json_object();
    json_object_set_new(dj, "attention_bias", json_false());
    json_object_set_new(dj, "attention_dropout", jreal(0.0f));
    json_object_set_new(dj, "latent_dim", json_integer(d->latent_dim));
    json_object_set_new(dj, "codebook_dim", json_integer(d->codebook_dim));
    json_object_set_new(dj, "codebook_size", json_integer(d->codebook_size));
    json_object_set_new(dj, "decoder_dim", json_integer(d->decoder_dim));
    json_object_set_new(dj, "hidden_act", json_string("silu"));
    json_object_set_new(dj, "hidden_size", json_integer(d->hidden));
    json_object_set_new(dj, "intermediate_size", json_integer(d->intermediate));
    json_object_set_new(dj, "layer_scale_initial_scale", jreal(d->layer_scale_initial_scale));
    json_object_set_new(dj, "max_position_embeddings", json_integer(d->max_position_embeddings));
    json_object_set_new(dj, "head_dim", json_integer(d->head_dim));
    json_object_set_new(dj, "num_attention_heads", json_integer(d->n_heads));
    json_object_set_new(dj, "num_hidden_layers", json_integer(d->n_layers));
    json_object_set_new(dj, "num_key_value_heads", json_integer(d->n_kv_heads));
    json_object_set_new(dj, "num_quantizers", json_integer(d->num_quantizers));
    json_object_set_new(dj, "num_semantic_quantizers", json_integer(d->num_semantic_quantizers));
    json_object_set_new(dj, "rms_norm_eps", jreal(d->rms_norm_eps));
    json_object_set_new(dj, "rope_theta", json_integer((json_int_t)d->rope_theta));
    json_object_set_new(dj, "semantic_codebook_size", json_integer(d->semantic_codebook_size));
    json_object_set_new(dj, "sliding_window", json_integer(d->sliding_window));
    json_object_set_new(dj, "upsample_rates", jints(d->upsample_rates, d->n_upsample_rates));
    json_object_set_new(dj, "upsampling_ratios", jints(d->upsampling_ratios, d->n_upsampling_ratios));
    json_object_set_new(dj, "vector_quantization_hidden_dimension", json_integer(d->vq_hidden_dim));
    json_object_set_new(root, "decoder_config", dj);

    json_t *ej = json_object();
    json_object_set_new(ej, "_frame_rate", jreal(e->frame_rate));
    json_object_set_new(ej, "attention_bias", json_false());
    json_object_set_new(ej, "attention_dropout", jreal(0.0f));
    json_object_set_new(ej, "audio_channels", json_integer(e->audio_channels));
    json_object_set_new(ej, "codebook_dim", json_integer(e->codebook_dim));
    json_object_set_new(ej, "codebook_size", json_integer(e->codebook_size));
    json_object_set_new(ej, "compress", json_integer(e->compress));
    json_object_set_new(ej, "dilation_growth_rate", json_integer(e->dilation_growth_rate));
    json_object_set_new(ej, "dtype", json_string("float32"));
    json_object_set_new(ej, "head_dim", json_integer(e->head_dim));
    json_object_set_new(ej, "hidden_act", json_string("gelu"));
    json_object_set_new(ej, "hidden_size", json_integer(e->hidden));
    json_object_set_new(ej, "initializer_range", jreal(0.02f));
    json_object_set_new(ej, "intermediate_size", json_integer(e->intermediate));
    json_object_set_new(ej, "kernel_size", json_integer(e->kernel_size));
    json_object_set_new(ej, "last_kernel_size", json_integer(e->last_kernel_size));
    json_object_set_new(ej, "layer_scale_initial_scale", jreal(e->layer_scale_initial_scale));
    json_object_set_new(ej, "max_position_embeddings", json_integer(e->max_position_embeddings));
    json_object_set_new(ej, "model_type", json_string("mimi"));
    json_object_set_new(ej, "norm_eps", jreal(e->norm_eps));
    json_object_set_new(ej, "normalize", json_false());
    json_object_set_new(ej, "num_attention_heads", json_integer(e->n_heads));
    json_object_set_new(ej, "num_filters", json_integer(e->num_filters));
    json_object_set_new(ej, "num_hidden_layers", json_integer(e->n_layers));
    json_object_set_new(ej, "num_key_value_heads", json_integer(e->n_kv_heads));
    json_object_set_new(ej, "num_quantizers", json_integer(e->num_quantizers));
    json_object_set_new(ej, "num_residual_layers", json_integer(e->num_residual_layers));
    json_object_set_new(ej, "num_semantic_quantizers", json_integer(e->num_semantic_quantizers));
    json_object_set_new(ej, "pad_mode", json_string(e->pad_constant ? "constant" : "replicate"));
    json_object_set_new(ej, "residual_kernel_size", json_integer(e->residual_kernel_size));
    json_object_set_new(ej, "rope_theta", jreal(e->rope_theta));
    json_object_set_new(ej, "sampling_rate", json_integer(e->sampling_rate));
    json_object_set_new(ej, "sliding_window", json_integer(e->sliding_window));
    json_object_set_new(ej, "trim_right_ratio", jreal(e->trim_right_ratio));
    json_object_set_new(ej, "upsample_groups", json_integer(e->upsample_groups));
    json_object_set_new(ej, "upsampling_ratios", jints(e->upsampling_ratios, e->n_upsampling_ratios));
    json_object_set_new(ej, "use_cache", json_false());
    json_object_set_new(ej, "use_causal_conv", e->use_causal_conv ? json_true() : json_false());
    json_object_set_new(ej, "use_conv_shortcut", e->use_conv_shortcut ? json_true() : json_false());
    json_object_set_new(ej, "use_streaming", json_false());
    json_object_set_new(ej, "vector_quantization_hidden_dimension", json_integer(e->vq_hidden_dim));
    json_object_set_new(root, "encoder_config", ej);
    json_object_set_new(root, "transformers_version", json_string("4.57.3"));
    return dump(root);
}
