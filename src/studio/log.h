/* log.h — the studio's log: timestamped lines to stderr and, once opened, to a log file.
 * The one global in voicebox (as the style guide allows). Thread-safe; a line is written whole. */
#ifndef VOICEBOX_LOG_H
#define VOICEBOX_LOG_H

#include <stddef.h>

/* Opens (appends to) path, creating its directory. Returns 0, or -1 with errno set. */
int studio_log_open(const char *path);
void studio_log_close(void);
/* Copies the path of the open log file into out (as given to studio_log_open). 0, or -1 when none is open
 * or it does not fit. */
int studio_log_path(char *out, size_t size);

/* level: "INFO", "WARNING", "ERROR". Lines look like "2026-11-26 06:20:01.123 INFO message". */
void studio_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message as written to the log: control bytes, C1 controls, backslashes and bytes that are not UTF-8
 * escaped (\n, \x1b, \u009b, \\), cut to fit size at a whole character. Returns the length written. */
size_t studio_log_escape(const char *in, char *out, size_t size);

#define log_info(...) studio_log("INFO", __VA_ARGS__)
#define log_warn(...) studio_log("WARNING", __VA_ARGS__)
#define log_error(...) studio_log("ERROR", __VA_ARGS__)

#endif
