/* fuzz_package_import.c — libFuzzer target for the .voicebox.zip import front door: any byte string given to
 * POST /profiles/import or POST /history/import (studio_profile_import, studio_generation_import) must be
 * imported or refused with an error, never crash, leak or write outside the data dir; a refused import must
 * leave no profile behind. One studio in a temp dir serves the whole run; what an input imports is deleted
 * again, so runs stay fast and the check stays exact. */
#include "studio/studio.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static studio *s;
static char dir[] = "/tmp/fuzz_package_import.XXXXXX";

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void clean_up(void) /* the temp data dir goes when the run ends */
{
    studio_close(s);
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t profile_count(void)
{
    studio_error err = {0};
    json_t *list = studio_profile_list(s, &err);
    if (!list) abort();
    size_t n = json_array_size(list);
    json_decref(list);
    return n;
}

static void open_once(void)
{
    if (s) return;
    if (!mkdtemp(dir)) abort();
    studio_error err = {0};
    s = studio_open(dir, &err);
    if (!s) abort();
    atexit(clean_up);
    /* takes in a package name a profile; give them one to land on */
    json_t *body = json_pack("{s:s}", "name", "Ada");
    json_t *p = studio_profile_create(s, body, &err);
    json_decref(body);
    json_decref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    open_once();
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    studio_error err = {0};
    size_t before = profile_count();
    json_t *p = studio_profile_import(s, copy, size, &err);
    if (p) {
        if (studio_profile_delete(s, json_string_value(json_object_get(p, "id")), &err) != 0) abort();
        json_decref(p);
    } else if (err.kind == STUDIO_OK || !err.msg[0]) {
        abort();
    }
    if (profile_count() != before) abort(); /* a refused import left a profile behind */
    memset(&err, 0, sizeof err);
    json_t *g = studio_generation_import(s, copy, size, &err);
    if (g) {
        if (studio_history_delete(s, json_string_value(json_object_get(g, "id")), &err) != 0) abort();
        json_decref(g);
    } else if (err.kind == STUDIO_OK || !err.msg[0]) {
        abort();
    }
    free(copy);
    return 0;
}
