/* prompt_cache.c — see prompt_cache.h. */
#include "studio/prompt_cache.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void studio_prompt_cache_key(const void *audio, size_t audio_size, const char *ref_text, const char *model_size,
                             char key[33])
{
    if (!model_size)
        model_size = STUDIO_DEFAULT_MODEL_SIZE;
    if (!ref_text)
        ref_text = "";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    EVP_DigestUpdate(ctx, audio, audio_size);
    EVP_DigestUpdate(ctx, ref_text, strlen(ref_text));
    EVP_DigestUpdate(ctx, model_size, strlen(model_size));
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 16; i++)
        snprintf(key + 2 * i, 3, "%02x", digest[i]);
}
