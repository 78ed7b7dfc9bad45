/* audio.h — decode, resample, measure, normalise and write audio (libsndfile + libsoxr).
 *
 * All audio inside voicebox is mono float32 in [-1, 1]. Decoding accepts whatever libsndfile reads
 * (WAV, FLAC, OGG/Vorbis/Opus, MP3), mixes channels down to mono and resamples with libsoxr at its highest
 * quality. Writing is always atomic: a temp file beside the target, then rename(2).
 */
#ifndef VOICEBOX_AUDIO_H
#define VOICEBOX_AUDIO_H

#include <stddef.h>

typedef struct {
    char msg[256];
    int errnum;        /* the errno of a failed write (ENOSPC: the drive is full), else 0 */
    int out_of_memory; /* set to 1 when the failure was a lack of memory, not the input's fault (zero it) */
} audio_error;

typedef struct {
    float *samples; /* mono, n samples */
    size_t n;
    int sample_rate;
} audio_buf;

void audio_buf_free(audio_buf *b); /* frees samples, zeroes the struct; NULL is fine */

/* Decode a file / an in-memory file image into mono float at target_rate (0 keeps the file's rate).
 * Errors name the file (or "upload") and the decoder's reason. */
int audio_decode_file(const char *path, int target_rate, audio_buf *out, audio_error *err);
int audio_decode_memory(const void *bytes, size_t size, int target_rate, audio_buf *out, audio_error *err);
/* The same with a duration limit checked against the header before decoding and enforced while decoding
 * (for formats whose header does not say): -2 when the audio lasts longer than max_seconds (at most 3600).
 * Every decode refuses rates outside 4-384 kHz and non-finite samples (-1). */
int audio_decode_memory_max(const void *bytes, size_t size, int target_rate, double max_seconds,
                            audio_buf *out, audio_error *err);

/* Resample with libsoxr (very high quality). *out is malloc'd. */
int audio_resample(const float *in, size_t n, int from_rate, int to_rate, float **out, size_t *n_out,
                   audio_error *err);

/* Write 16-bit PCM mono WAV atomically (temp file + rename). Samples are clamped to [-1, 1]. */
int audio_write_wav16(const char *path, const float *samples, size_t n, int sample_rate, audio_error *err);
/* The same WAV image in memory (*out malloc'd), for streaming or hashing. */
int audio_encode_wav16(const float *samples, size_t n, int sample_rate, void **out, size_t *out_size,
                       audio_error *err);
/* Streaming: a 16-bit mono WAV header whose RIFF and data sizes are unknown (0xFFFFFFFF, as streaming servers
 * send it; readers take the data to the end of the stream), and samples as 16-bit little-endian PCM (2 bytes
 * each into out), converted exactly as the WAV writer does, so a stream and a stored take agree bit for bit.
 */
#define AUDIO_WAV_HEADER_BYTES 44
void audio_wav16_stream_header(unsigned char out[AUDIO_WAV_HEADER_BYTES], int sample_rate);
void audio_s16le(const float *samples, size_t n, unsigned char *out);
/* Encoding while the audio is made, into memory whose bytes are taken as they come (never sought back, so
 * they can go out at once): "opus" (Ogg) or "flac" (its header then gives no length); other formats NULL
 * with err. write encodes n more samples; take copies up to max bytes made so far (returns the count);
 * finish flushes the end, after which take gives the last bytes. */
typedef struct audio_stream_enc audio_stream_enc;
audio_stream_enc *audio_stream_enc_new(const char *format, int sample_rate, audio_error *err);
int audio_stream_enc_write(audio_stream_enc *e, const float *samples, size_t n, audio_error *err);
int audio_stream_enc_finish(audio_stream_enc *e, audio_error *err);
size_t audio_stream_enc_take(audio_stream_enc *e, void *buf, size_t max);
void audio_stream_enc_free(audio_stream_enc *e); /* NULL is fine */
/* samples as format: "wav" (16-bit), "flac", "mp3", "opus" (Ogg) or "pcm" (raw 16-bit little-endian), into a
 * malloc'd *out of *out_size bytes. -1 with err for another format or a libsndfile fault. */
int audio_encode(const float *samples, size_t n, int sample_rate, const char *format, void **out,
                 size_t *out_size, audio_error *err);

float audio_rms(const float *s, size_t n);
float audio_peak(const float *s, size_t n);

/* Index range [*start, *end) left after trimming leading and trailing samples whose short-window RMS is
 * below threshold (linear, e.g. 0.01). */
void audio_trim_silence(const float *s, size_t n, int sample_rate, float threshold, size_t *start,
                        size_t *end);

/* Scale so the RMS reaches target_rms without the peak exceeding peak_limit; returns the gain applied. */
float audio_normalize(float *s, size_t n, float target_rms, float peak_limit);

#endif
