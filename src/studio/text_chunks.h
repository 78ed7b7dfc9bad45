/* text_chunks.h — splitting a long text into chunks the engine speaks one by one (studio-internal).
 *
 * Chunks end at sentence ends where possible: '.', '!', '?', '…' followed by a space or the end (not after
 * an abbreviation such as "Dr." or "e.g.", an initial such as "J.", or inside a number such as "3.14"), the
 * CJK full stops '。', '！', '？', '；' (no space needed), and blank lines. Sentences are packed greedily
 * into chunks of at most max_chars characters and max_bytes bytes; a sentence longer than that is cut at its
 * last clause mark (, ; : ， 、), else its last space, else at the limit. Chunks are trimmed of outer white
 * space and never empty; their concatenation holds every non-space character of the text in order.
 */
#ifndef VOICEBOX_TEXT_CHUNKS_H
#define VOICEBOX_TEXT_CHUNKS_H

#include <stddef.h>

/* *out: a malloc'd array of *n malloc'd strings (free each, then the array). -1 on out of memory. */
int studio_text_chunks(const char *text, long max_chars, size_t max_bytes, char ***out, int *n);
void studio_text_chunks_free(char **chunks, int n);

#endif
