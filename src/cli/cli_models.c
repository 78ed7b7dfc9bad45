/* cli_models.c — `voicebox models list|pull NAME|rm NAME`: the Hugging Face cache as the studio sees it.
 * pull draws a progress bar on stderr (a line per file when stderr is not a terminal). */
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "engine/qt.h"
#include "studio/models.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *human(uint64_t bytes, char *buf, size_t size)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

static const char *status_word(const studio_model_state *st)
{
    return st->damaged        ? "damaged"
           : st->downloaded   ? "downloaded"
           : st->downloading  ? "downloading"
           : st->size_on_disk ? "partial"
                              : "not-downloaded";
}

static int models_list(int json)
{
    json_t *arr = json ? json_array() : NULL;
    if (!json) printf("%-15s %-31s %-14s %10s  %s\n", "NAME", "REPO", "STATUS", "SIZE", "PATH");
    for (size_t i = 0; i < studio_model_count(); i++) {
        const studio_model *m = studio_model_at(i);
        studio_model_state st;
        studio_error err = {0};
        if (studio_models_state(NULL, m, &st, &err) != 0) {
            json_decref(arr);
            return cli_error("%s", err.msg);
        }
        if (json) {
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:s?, s:b, s:s?}", "model_name", m->name,
                               "model_size", m->size, "repo_id", m->repo_id, "status", status_word(&st),
                               "downloaded", st.downloaded, "downloading", st.downloading, "size_on_disk",
                               (json_int_t)st.size_on_disk, "path", st.downloaded ? st.path : NULL, "damaged",
                               st.damaged, "error", st.damaged ? st.problem : NULL));
            continue;
        }
        char size[32];
        printf("%-15s %-31s %-14s %10s  %s\n", m->name, m->repo_id, status_word(&st),
               st.size_on_disk ? human(st.size_on_disk, size, sizeof size) : "-",
               st.downloaded ? st.path : st.cache_dir);
        if (st.damaged)
            printf("  %s is damaged: %s; `voicebox models pull %s` repairs it\n", m->name, st.problem,
                   m->name);
    }
    if (json) {
        char *text = json_dumps(arr, JSON_INDENT(2));
        if (text) puts(text);
        free(text);
        json_decref(arr);
    }
    return 0;
}

typedef struct {
    int tty;
    int open; /* a bar is on the line, not yet ended by a newline */
    char last_file[256];
    double last_draw;
} bar_state;

static void on_progress(const char *name, uint64_t current, uint64_t total, const char *filename,
                        studio_dl_status status, void *user)
{
    bar_state *b = user;
    char cur[32], tot[32];
    if (status != STUDIO_DL_DOWNLOADING) {
        if (b->open) fputc('\n', stderr);
        b->open = 0;
        return;
    }
    if (!b->tty) { /* logs and pipes: one line per file started */
        if (filename[0] && strcmp(filename, b->last_file)) {
            snprintf(b->last_file, sizeof b->last_file, "%s", filename);
            fprintf(stderr, "%s: %s (%s of %s)\n", name, filename, human(current, cur, sizeof cur),
                    human(total, tot, sizeof tot));
        }
        return;
    }
    double t = (qt_now_ms() / 1e3);
    if (t - b->last_draw < 0.1 && current < total) return;
    b->last_draw = t;
    int width = 30, filled = total ? (int)((double)current / (double)total * width) : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[width] = '\0';
    fprintf(stderr, "\r%s [%s] %5.1f%% %s / %s  %-32.32s", name, bar,
            total ? 100.0 * (double)current / (double)total : 0.0, human(current, cur, sizeof cur),
            human(total, tot, sizeof tot), filename);
    b->open = 1;
    if (total && current == total) { /* done: end the line before the log says so */
        fputc('\n', stderr);
        b->open = 0;
    }
    fflush(stderr);
}

static int models_pull(const studio_model *m)
{
    bar_state b = {.tty = isatty(STDERR_FILENO)};
    studio_error err = {0};
    if (studio_models_download(NULL, m, on_progress, &b, &err) != 0) return cli_error("%s", err.msg);
    studio_model_state st;
    if (studio_models_state(NULL, m, &st, &err) != 0) return cli_error("%s", err.msg);
    printf("%s is ready: %s\n", m->name, st.path);
    return 0;
}

static int models_rm(const studio_model *m)
{
    studio_error err = {0};
    if (studio_models_delete(NULL, m, &err) != 0) return cli_error("%s", err.msg);
    printf("%s removed\n", m->name);
    return 0;
}

static void models_usage(FILE *out)
{
    fprintf(out,
            "usage: voicebox models list [--json]\n"
            "       voicebox models pull NAME    download into the Hugging Face cache (HF_ENDPOINT)\n"
            "       voicebox models rm NAME      delete from the cache\n"
            "NAME: %s (or the size: %s)\n",
            studio_model_name_list(), studio_model_size_list());
}

int cli_models(int argc, char **argv)
{
    int as_json = 0;
    const cli_opt opts[] = {CLI_FLAG_OPT("--json", &as_json)};
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("models", argc, argv, opts, 1, pos, &n_pos);
    if (r == CLI_HELP) {
        models_usage(stdout);
        return 0;
    }
    if (r) return r;
    if (n_pos == 1 && !strcmp(pos[0], "list")) return models_list(as_json);
    if (n_pos == 2 && !as_json && (!strcmp(pos[0], "pull") || !strcmp(pos[0], "rm"))) {
        const studio_model *m = studio_model_find(pos[1]);
        if (!m) return cli_error("unknown model '%s' (try `voicebox models list`)", pos[1]);
        return !strcmp(pos[0], "pull") ? models_pull(m) : models_rm(m);
    }
    models_usage(stderr);
    return 2;
}
