/* bpe.h — internals of the Qwen2/Qwen3 byte-level BPE tokenizer (bpe.c) that tests and tools look at.
 *
 * Everything else uses the qt_tokenizer API in qt.h. What is here exists so that the two merge loops (the
 * plain scan for short pieces, the heap for long ones) can be checked against each other, and the
 * pre-tokenizer's pieces can be printed while debugging.
 */
#ifndef QT_BPE_H
#define QT_BPE_H

#include "engine/qt.h"

#include <stddef.h>
#include <stdint.h>

/* The Qwen2 Split pre-tokenizer regex as tokenizer.json spells it (Oniguruma syntax, run by HF tokenizers).
 */
extern const char bpe_qwen2_pattern[];

/* How bpe_merge_piece merges: AUTO picks the scan below a length threshold and the heap above it. */
typedef enum { BPE_MERGE_AUTO, BPE_MERGE_SCAN, BPE_MERGE_HEAP } bpe_merge_mode;

/* Byte-level BPE of one pre-tokenized piece (raw UTF-8 bytes, not the byte-to-unicode form). Appends the
 * ids to out[0..], which must have room for n entries (a piece never yields more ids than bytes).
 * Returns the number of ids, or -1 on allocation failure. */
int bpe_merge_piece(const qt_tokenizer *t, const uint8_t *piece, size_t n, int32_t *out, bpe_merge_mode mode);

/* The GPT-2 byte-to-unicode table: the code point byte b is written as in vocab.json and merges.txt. */
uint32_t bpe_byte_to_codepoint(uint8_t b);

/* Calls fn(piece, len, ctx, err) for each piece the pre-tokenizer (the Qwen2 regex, or GPT-2's for Whisper)
 * cuts from text[0..n) (valid UTF-8, already normalised, no added tokens), in order; the pieces tile the
 * text. fn returns 0 to go on, -1 (with *err filled) to stop. Returns 0, or -1 with *err filled when fn or
 * the regex engine fails. */
typedef int (*bpe_piece_fn)(const char *piece, size_t len, void *ctx, qt_error *err);
int bpe_pretokenize(const qt_tokenizer *t, const char *text, size_t n, bpe_piece_fn fn, void *ctx,
                    qt_error *err);

#endif
