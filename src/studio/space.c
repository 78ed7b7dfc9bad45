/* space.c — a full disk (issue 16 item 11): writes that meet ENOSPC (or a quota) become STUDIO_NO_SPACE, a
 * 507 whose message names no path, and deleting still works when the drive is full.
 *
 * Why a reserve file: SQLite needs room to delete. In WAL mode a DELETE appends the changed pages (and the
 * intent record every delete writes first, db.c) to voicebox.db-wal, which on a full drive fails with
 * SQLITE_FULL, so the one thing that would free space cannot run. Deleting files before their rows would
 * free space first, but it breaks the crash order db.c rests on (row first, then file, so a crash never
 * leaves a row without its file) and the intent itself is a database write. Instead <data>/.space-reserve
 * holds RESERVE_BYTES; a delete (or a take recording its failure) that meets SQLITE_FULL unlinks it and tries
 * once more, and the reserve is topped up again after files are removed. Nothing else ever uses it: an
 * upload on a full drive fails with 507 rather than eat the room a delete needs. The sweep never looks at
 * the data dir's top level, so the reserve is neither quarantined nor exported.
 */
#include "studio/studio_internal.h"

#include "studio/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESERVE_NAME ".space-reserve"
#define RESERVE_BYTES (256 * 1024) /* 64 WAL frames of 4 KiB: a profile delete with dozens of files */

int studio_no_space(int errnum)
{
    return errnum == ENOSPC || errnum == EDQUOT;
}

void studio_reserve_fill(studio *s)
{
    char *p = studio_path(s, RESERVE_NAME);
    int fd = p ? open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) goto out;
    static const char zeros[4096];
    off_t size = sb.st_size;
    while (size < RESERVE_BYTES) { /* real blocks (zeros written), not a sparse file */
        ssize_t w = pwrite(fd, zeros, sizeof zeros, size);
        if (w <= 0) break; /* the drive is full: keep what fitted, top it up after the next delete */
        size += w;
    }
    atomic_store(&s->reserve_short, size < RESERVE_BYTES);
out:
    if (fd >= 0) close(fd);
    free(p);
}

void studio_reserve_top_up(studio *s)
{
    if (atomic_load(&s->reserve_short)) studio_reserve_fill(s);
}

int studio_space_retry(studio *s, const studio_error *err)
{
    if (!err || err->kind != STUDIO_NO_SPACE) return 0;
    char *p = studio_path(s, RESERVE_NAME);
    struct stat sb;
    int freed = p && lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 && unlink(p) == 0;
    if (freed) {
        atomic_store(&s->reserve_short, 1);
        log_warn("the data dir's drive is full: released the %d KiB reserve so this delete can run",
                 RESERVE_BYTES / 1024);
    }
    free(p);
    return freed;
}

int studio_write_fail(studio_error *err, int errnum, const char *what, const char *detail)
{
    if (studio_no_space(errnum)) {
        log_error("%s: no space left on the data dir's drive", what);
        return studio_fail(err, STUDIO_NO_SPACE, NULL,
                           "%s: the data folder's drive is full; free some space (deleting takes and samples "
                           "still works) and try again",
                           what);
    }
    log_error("%s: %s", what, detail);
    return studio_fail(err, STUDIO_INTERNAL, NULL, "%s: %s", what, detail);
}
