/* cli_dev.c — `voicebox dev ...`: developer commands for model files.
 *
 *   dev inspect DIR [--tensors]      tensor count, bytes by dtype and the parsed configs of a model directory
 *                                    (or Hub repo id) and its speech_tokenizer/; --tensors lists every tensor
 *   dev random-model --shape S --seed N --out DIR [--tokenizer-from DIR] [--threads N] [--dry-run]
 *                                    a real-shape random model in the release layout (random_model.c)
 *
 * inspect loads files through exactly the code the engine uses (st_open, qt_config_load), so a directory it
 * accepts is one the engine can open.
 */
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "cli/random_model.h"

#include "engine/qt.h"
#include "engine/qt_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- inspect ------------------------------------------------------------------------------------------ */

static void print_bytes_line(const char *label, const st_file *f, int list)
{
    size_t count[4] = {0}, bytes[4] = {0}, total = 0;
    uint64_t params = 0;
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        count[t->dtype]++;
        bytes[t->dtype] += t->n_bytes;
        total += t->n_bytes;
        params += (uint64_t)t->n_elements;
    }
    printf("%s: %zu tensors, %zu bytes, %llu parameters\n", label, st_count(f), total,
           (unsigned long long)params);
    for (int d = 0; d < 4; d++)
        if (count[d])
            printf("  %-4s %6zu tensors %14zu bytes\n", st_dtype_name((st_dtype)d), count[d], bytes[d]);
    if (!list) return;
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        printf("  tensor %s %s [", t->name, st_dtype_name(t->dtype));
        for (int d = 0; d < t->n_dims; d++)
            printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
        printf("]\n");
    }
}

static void print_stack(const char *what, const qt_stack_config *s)
{
    printf("  %s: hidden %d, intermediate %d, layers %d, heads %d (kv %d) x %d, vocab %d, code groups %d, "
           "rope_theta %g, rms_norm_eps %g, max positions %d\n",
           what, s->hidden, s->intermediate, s->n_layers, s->n_heads, s->n_kv_heads, s->head_dim,
           s->vocab_size, s->num_code_groups, (double)s->rope_theta, (double)s->rms_norm_eps,
           s->max_position_embeddings);
}

static void print_config(const qt_config *c)
{
    const qt_talker_config *t = &c->talker;
    printf("config.json: Qwen3-TTS %s %s, tokenizer %s\n", c->size, c->model_type, c->tokenizer_type);
    printf("  text ids: im_start %d, im_end %d, assistant %d, tts_pad %d, tts_bos %d, tts_eos %d\n",
           c->im_start_id, c->im_end_id, c->assistant_id, c->tts_pad_id, c->tts_bos_id, c->tts_eos_id);
    print_stack("talker", &t->stack);
    printf("  text: vocab %d, hidden %d; mrope_section [%d,%d,%d]%s\n", t->text_vocab_size,
           t->text_hidden_size, t->mrope_section[0], t->mrope_section[1], t->mrope_section[2],
           t->mrope_interleaved ? " interleaved" : "");
    printf("  codec ids: pad %d, bos %d, eos %d, think %d, nothink %d, think_bos %d, think_eos %d\n",
           t->codec_pad_id, t->codec_bos_id, t->codec_eos_id, t->codec_think_id, t->codec_nothink_id,
           t->codec_think_bos_id, t->codec_think_eos_id);
    printf("  languages:");
    for (int i = 0; i < t->n_languages; i++)
        printf(" %s=%d", t->languages[i].name, t->languages[i].id);
    printf("\n  speakers: %d\n", t->n_speakers);
    print_stack("code predictor", &c->code_predictor);
    const qt_speaker_config *s = &c->speaker;
    printf("  speaker encoder: mel %d, channels [%d,%d,%d,%d,%d], kernels [%d,%d,%d,%d,%d], dilations "
           "[%d,%d,%d,%d,%d], attention %d, res2net %d, se %d, enc_dim %d, %d Hz\n",
           s->mel_dim, s->enc_channels[0], s->enc_channels[1], s->enc_channels[2], s->enc_channels[3],
           s->enc_channels[4], s->enc_kernel_sizes[0], s->enc_kernel_sizes[1], s->enc_kernel_sizes[2],
           s->enc_kernel_sizes[3], s->enc_kernel_sizes[4], s->enc_dilations[0], s->enc_dilations[1],
           s->enc_dilations[2], s->enc_dilations[3], s->enc_dilations[4], s->enc_attention_channels,
           s->enc_res2net_scale, s->enc_se_channels, s->enc_dim, s->sample_rate);
}

static void print_ints(const int *v, int n)
{
    printf("[");
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", v[i]);
    printf("]");
}

static void print_codec_config(const qt_codec_config *c)
{
    const qt_codec_decoder_config *d = &c->decoder;
    const qt_codec_encoder_config *e = &c->encoder;
    printf("speech_tokenizer/config.json: %s, %d of %d quantizers used, %d Hz in / %d Hz out, %d samples per "
           "frame\n",
           c->model_type, c->encoder_valid_num_quantizers, e->num_quantizers, c->input_sample_rate,
           c->output_sample_rate, c->decode_upsample_rate);
    printf(
        "  decoder: latent %d, codebook %d x %d (%d quantizers, %d semantic), decoder_dim %d, transformer "
        "hidden "
        "%d, intermediate %d, layers %d, heads %d (kv %d) x %d, window %d, rms_norm_eps %g, rope_theta %g, "
        "upsample_rates ",
        d->latent_dim, d->codebook_size, d->codebook_dim, d->num_quantizers, d->num_semantic_quantizers,
        d->decoder_dim, d->hidden, d->intermediate, d->n_layers, d->n_heads, d->n_kv_heads, d->head_dim,
        d->sliding_window, (double)d->rms_norm_eps, (double)d->rope_theta);
    print_ints(d->upsample_rates, d->n_upsample_rates);
    printf(", upsampling_ratios ");
    print_ints(d->upsampling_ratios, d->n_upsampling_ratios);
    printf("\n  encoder: filters %d, kernel %d/%d/%d, ratios ", e->num_filters, e->kernel_size,
           e->last_kernel_size, e->residual_kernel_size);
    print_ints(e->upsampling_ratios, e->n_upsampling_ratios);
    printf(
        ", %s%s conv, transformer hidden %d, intermediate %d, layers %d, heads %d (kv %d) x %d, window %d, "
        "norm_eps %g, codebook %d x %d, frame rate %g Hz\n",
        e->use_causal_conv ? "causal" : "non-causal", e->pad_constant ? " zero-padded" : "", e->hidden,
        e->intermediate, e->n_layers, e->n_heads, e->n_kv_heads, e->head_dim, e->sliding_window,
        (double)e->norm_eps, e->codebook_size, e->codebook_dim, (double)e->frame_rate);
}

static int dev_inspect(int argc, char **argv)
{
    const char *arg = NULL;
    int list = 0;
    const cli_opt opts[] = {CLI_FLAG_OPT("--tensors", &list)};
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("dev inspect", argc, argv, opts, 1, pos, &n_pos);
    if (r == CLI_HELP) {
        printf("usage: voicebox dev inspect DIR|REPO_ID [--tensors]\n");
        return 0;
    }
    if (r) return r;
    if (n_pos) arg = pos[n_pos - 1];
    if (!arg) return cli_error("dev inspect: give a model directory or Hub repo id");
    char dir[4096], codec_dir[4096];
    qt_error err = {0};
    if (qt_resolve_model_dir(arg, dir, sizeof dir, &err)) return cli_error("%s", err.msg);
    printf("model: %s\n", dir);
    qt_config c;
    if (qt_config_load(dir, &c, &err)) return cli_error("%s", err.msg);
    st_file *f = st_open(dir, &err);
    if (!f) return cli_error("%s", err.msg);
    print_bytes_line("model.safetensors", f, list);
    st_close(f);
    print_config(&c);

    if (qt_speech_tokenizer_dir(dir, codec_dir, sizeof codec_dir, &err)) return cli_error("%s", err.msg);
    qt_codec_config cc;
    if (qt_codec_config_load(codec_dir, &cc, &err)) return cli_error("%s", err.msg);
    f = st_open(codec_dir, &err);
    if (!f) return cli_error("%s", err.msg);
    print_bytes_line("speech_tokenizer/model.safetensors", f, list);
    st_close(f);
    print_codec_config(&cc);
    return 0;
}

/* ---- random-model ------------------------------------------------------------------------------------- */

static const char generation_config[] = "{\n"
                                        "  \"do_sample\": true,\n"
                                        "  \"repetition_penalty\": 1.05,\n"
                                        "  \"temperature\": 0.9,\n"
                                        "  \"top_p\": 1.0,\n"
                                        "  \"top_k\": 50,\n"
                                        "  \"subtalker_dosample\": true,\n"
                                        "  \"subtalker_temperature\": 0.9,\n"
                                        "  \"subtalker_top_p\": 1.0,\n"
                                        "  \"subtalker_top_k\": 50,\n"
                                        "  \"max_new_tokens\": 8192\n"
                                        "}\n";

static const char preprocessor_config[] = "{\n"
                                          "  \"chunk_length_s\": null,\n"
                                          "  \"feature_extractor_type\": \"EncodecFeatureExtractor\",\n"
                                          "  \"feature_size\": 1,\n"
                                          "  \"overlap\": null,\n"
                                          "  \"padding_side\": \"right\",\n"
                                          "  \"padding_value\": 0.0,\n"
                                          "  \"return_attention_mask\": true,\n"
                                          "  \"sampling_rate\": 24000\n"
                                          "}\n";

static const char *tokenizer_files[3] = {"vocab.json", "merges.txt", "tokenizer_config.json"};

static int has_tokenizer(const char *dir)
{
    char p[4200];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, tokenizer_files[i]);
        if (access(p, R_OK) != 0) return 0;
    }
    return 1;
}

/* The golden tiny-a folder holds the real Qwen3 tokenizer files: $VOICEBOX_GOLDEN_DIR/tiny-a, else
 * ../shared/golden/tiny-a beside the checkout the binary was built in (build dir's parent's parent). */
static int default_tokenizer_dir(char *out, size_t size)
{
    const char *g = getenv("VOICEBOX_GOLDEN_DIR");
    if (g && *g) {
        snprintf(out, size, "%s/tiny-a", g);
        if (has_tokenizer(out)) return 0;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(exe, '/');
            if (slash) *slash = 0;
        }
        if ((size_t)snprintf(out, size, "%s/../shared/golden/tiny-a", exe) < size && has_tokenizer(out))
            return 0;
    }
    return -1;
}

static int copy_file(const char *from, const char *to, qt_error *err)
{
    FILE *in = fopen(from, "rb");
    if (!in) return qt_fail(err, QT_ERR_NOT_FOUND, "%s: cannot open (%s)", from, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n + 65536 > cap) {
            char *b = realloc(buf, cap = 2 * cap + 65536);
            if (!b) {
                free(buf);
                fclose(in);
                return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory", from);
            }
            buf = b;
        }
        got = fread(buf + n, 1, 65536, in);
        n += got;
    } while (got > 0);
    fclose(in);
    buf[n] = 0;
    if (strlen(buf) != n) {
        free(buf);
        return qt_fail(err, QT_ERR_CORRUPT, "%s: holds a NUL byte, not a tokenizer text file", from);
    }
    int rc = rm_write_text(to, buf, err);
    free(buf);
    return rc;
}

typedef struct {
    const char *what;
    double t0;
    int last_pct;
} progress_state;

static void progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_state *p = ctx;
    int pct = total ? (int)(100 * done / total) : 100;
    if (pct / 10 == p->last_pct / 10 && pct != 100) return;
    p->last_pct = pct;
    double dt = (qt_now_ms() / 1e3) - p->t0;
    fprintf(stderr, "  %s: %3d%%  %7.1f MB  %5.1f s  %6.0f MB/s\n", p->what, pct, (double)done / 1e6, dt,
            dt > 0 ? (double)done / 1e6 / dt : 0.0);
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Whisper's tokenizer and generation files: the checkout's test fixtures (tests/data/whisper/model-80, the
 * v2 vocabulary converted from openai/whisper's multilingual.tiktoken) beside the build dir the binary is in.
 */
static const char *whisper_files[5] = {"vocab.json", "merges.txt", "tokenizer_config.json",
                                       "generation_config.json", "preprocessor_config.json"};

static int default_whisper_files_dir(char *out, size_t size)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
    }
    char p[4300];
    snprintf(p, sizeof p, "%s/tests/data/whisper/model-80/vocab.json", exe);
    if ((size_t)snprintf(out, size, "%s/tests/data/whisper/model-80", exe) >= size || access(p, R_OK))
        return -1;
    return 0;
}

static int random_whisper(const rm_whisper *w, unsigned long long seed, const char *out, const char *from,
                          int threads, int dry_run)
{
    rm_list l = {0};
    if (rm_whisper_tensors(w, &l)) return cli_error("dev random-model: out of memory");
    printf("model.safetensors: %d tensors, %llu parameters, %llu bytes\n", l.n,
           (unsigned long long)rm_list_params(&l), (unsigned long long)rm_list_bytes(&l));
    int rc = 1;
    char dir[4096], path[4300], from_path[4300];
    char *cfg = NULL;
    qt_error err = {0};
    if (dry_run) {
        rc = 0;
        goto done;
    }
    if (from)
        snprintf(dir, sizeof dir, "%s", from);
    else if (default_whisper_files_dir(dir, sizeof dir)) {
        cli_error(
            "dev random-model: no Whisper tokenizer files found (tests/data/whisper/model-80 beside the "
            "build); give --tokenizer-from DIR holding %s, %s, %s, %s, %s",
            whisper_files[0], whisper_files[1], whisper_files[2], whisper_files[3], whisper_files[4]);
        goto done;
    }
    if (mkdir_p(out)) {
        cli_error("%s: cannot create (%s)", out, strerror(errno));
        goto done;
    }
    fprintf(stderr, "voicebox: random %s model, seed %llu, %d threads -> %s\n", w->name, seed, threads, out);
    for (int i = 0; i < 5; i++) {
        snprintf(from_path, sizeof from_path, "%s/%s", dir, whisper_files[i]);
        snprintf(path, sizeof path, "%s/%s", out, whisper_files[i]);
        if (copy_file(from_path, path, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/config.json", out);
    if (!(cfg = rm_whisper_config_json(w)) || rm_write_text(path, cfg, &err)) {
        cli_error("%s", cfg ? err.msg : "dev random-model: out of memory");
        goto done;
    }
    progress_state ps = {"model.safetensors", (qt_now_ms() / 1e3), -10};
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    if (rm_write_safetensors(path, &l, seed, threads, progress, &ps, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    rc = 0;
done:
    free(cfg);
    rm_list_free(&l);
    return rc;
}

typedef struct {
    unsigned long long value;
    int given;
} given_seed;

static int seed_opt(const char *v, void *dest)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || !*v || *end || *v == '-')
        return cli_error("dev random-model: --seed '%s' is not a non-negative integer", v);
    *(given_seed *)dest = (given_seed){n, 1};
    return 0;
}

static int dev_random_model(int argc, char **argv)
{
    const char *shape = NULL, *out = NULL, *tok = NULL;
    given_seed seed = {0, 0};
    int threads = qt_default_threads(), dry_run = 0;
    const cli_opt opts[] = {
        CLI_FLAG_OPT("--dry-run", &dry_run),
        CLI_STR_OPT("--shape", NULL, &shape),
        CLI_STR_OPT("--out", NULL, &out),
        CLI_STR_OPT("--tokenizer-from", NULL, &tok),
        CLI_FN_OPT("--seed", &seed, seed_opt),
        CLI_INT_OPT("--threads", &threads, 1, 256, "dev random-model: --threads '%s' must be 1..256"),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("dev random-model", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) {
        printf("usage: voicebox dev random-model --shape 0.6B|1.7B|tiny|tiny-b --seed N --out DIR\n"
               "                                [--tokenizer-from DIR] [--threads N] [--dry-run]\n"
               "       (--shape whisper-tiny|whisper-base|whisper-small: a Whisper release, F32)\n"
               "Writes a model directory in the release layout with seeded-random weights.\n"
               "--tokenizer-from: where vocab.json, merges.txt, tokenizer_config.json are copied from\n"
               "                  (default: the golden fixtures' tiny-a folder).\n"
               "--dry-run:        print the tensor counts, parameters and bytes; write nothing.\n");
        return 0;
    }
    if (r) return r;
    if (n_pos) {
        cli_error("dev random-model: unexpected argument '%s' (see voicebox dev random-model --help)",
                  pos[0]);
        return 2;
    }
    if (!shape || (!dry_run && (!out || !seed.given)))
        return cli_error("dev random-model: --shape, --seed and --out are required (see --help)");

    rm_whisper w;
    if (rm_whisper_preset(shape, &w) == 0) return random_whisper(&w, seed.value, out, tok, threads, dry_run);
    qt_config c;
    qt_codec_config cc;
    if (rm_preset(shape, &c, &cc))
        return cli_error("dev random-model: unknown shape '%s' (0.6B, 1.7B, tiny, tiny-b)", shape);
    if (dry_run) { /* the layout's totals only: nothing is written */
        rm_list model = {0}, codec = {0};
        int bad = rm_model_tensors(&c, &model) || rm_codec_tensors(&cc, &codec);
        if (!bad) {
            printf("model.safetensors: %d tensors, %llu parameters, %llu bytes\n", model.n,
                   (unsigned long long)rm_list_params(&model), (unsigned long long)rm_list_bytes(&model));
            printf("speech_tokenizer/model.safetensors: %d tensors, %llu parameters, %llu bytes\n", codec.n,
                   (unsigned long long)rm_list_params(&codec), (unsigned long long)rm_list_bytes(&codec));
        }
        rm_list_free(&model);
        rm_list_free(&codec);
        return bad ? cli_error("dev random-model: out of memory") : 0;
    }
    char tokdir[4096];
    if (tok) {
        snprintf(tokdir, sizeof tokdir, "%s", tok);
        if (!has_tokenizer(tokdir))
            return cli_error(
                "dev random-model: %s does not hold vocab.json, merges.txt and tokenizer_config.json",
                tokdir);
    } else if (default_tokenizer_dir(tokdir, sizeof tokdir)) {
        return cli_error(
            "dev random-model: no tokenizer files found (looked in $VOICEBOX_GOLDEN_DIR/tiny-a and "
            "../shared/golden/tiny-a beside the checkout); give --tokenizer-from DIR with vocab.json, "
            "merges.txt and tokenizer_config.json, e.g. a downloaded Qwen3-TTS release");
    }

    char path[4300], codec_dir[4200];
    snprintf(codec_dir, sizeof codec_dir, "%s/speech_tokenizer", out);
    if (mkdir_p(out) || mkdir_p(codec_dir))
        return cli_error("%s: cannot create (%s)", codec_dir, strerror(errno));

    rm_list model = {0}, codec = {0};
    qt_error err = {0};
    int rc = 1;
    char *cfg = NULL, *codec_cfg = NULL;
    if (rm_model_tensors(&c, &model) || rm_codec_tensors(&cc, &codec)) {
        cli_error("dev random-model: out of memory");
        goto done;
    }
    int tiny = strncmp(shape, "tiny", 4) == 0;
    cfg = rm_config_json(&c, tiny);
    codec_cfg = rm_codec_config_json(&cc);
    if (!cfg || !codec_cfg) {
        cli_error("dev random-model: out of memory");
        goto done;
    }
    fprintf(stderr, "voicebox: random %s model, seed %llu, %d threads -> %s\n", shape, seed.value, threads,
            out);
    fprintf(stderr, "  model.safetensors: %d tensors, %llu parameters, %llu bytes\n", model.n,
            (unsigned long long)rm_list_params(&model), (unsigned long long)rm_list_bytes(&model));
    fprintf(stderr, "  speech_tokenizer/model.safetensors: %d tensors, %llu parameters, %llu bytes\n",
            codec.n, (unsigned long long)rm_list_params(&codec), (unsigned long long)rm_list_bytes(&codec));
    double t0 = (qt_now_ms() / 1e3);

    struct {
        const char *name;
        const char *text;
    } texts[] = {{"config.json", cfg},
                 {"generation_config.json", generation_config},
                 {"speech_tokenizer/config.json", codec_cfg},
                 {"speech_tokenizer/preprocessor_config.json", preprocessor_config}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", out, texts[i].name);
        if (rm_write_text(path, texts[i].text, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
    }
    for (int i = 0; i < 3; i++) {
        char from[4300];
        snprintf(from, sizeof from, "%s/%s", tokdir, tokenizer_files[i]);
        snprintf(path, sizeof path, "%s/%s", out, tokenizer_files[i]);
        if (copy_file(from, path, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
    }
    /* The two weight files use different seeds derived from the one given. */
    progress_state ps = {"model.safetensors", (qt_now_ms() / 1e3), -10};
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    if (rm_write_safetensors(path, &model, seed.value, threads, progress, &ps, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    progress_state ps2 = {"speech_tokenizer/model.safetensors", (qt_now_ms() / 1e3), -10};
    snprintf(path, sizeof path, "%s/model.safetensors", codec_dir);
    if (rm_write_safetensors(path, &codec, seed.value ^ 0x5eec4c0dec000000ull, threads, progress, &ps2,
                             &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    fprintf(stderr, "voicebox: wrote %s in %.1f s\n", out, (qt_now_ms() / 1e3) - t0);
    rc = 0;
done:
    free(cfg);
    free(codec_cfg);
    rm_list_free(&model);
    rm_list_free(&codec);
    return rc;
}

int cli_dev(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: voicebox dev inspect DIR|REPO_ID [--tensors]\n"
               "       voicebox dev random-model --shape 0.6B|1.7B|tiny|tiny-b --seed N --out DIR "
               "[--tokenizer-from DIR] [--threads N] [--dry-run]\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "inspect")) return dev_inspect(argc - 1, argv + 1);
    if (!strcmp(argv[1], "random-model")) return dev_random_model(argc - 1, argv + 1);
    return cli_error("dev: unknown subcommand '%s' (inspect, random-model)", argv[1]);
}
