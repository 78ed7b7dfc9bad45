/* openapi.c — GET /openapi.json: the OpenAPI 3 description of the API, kept in this one file.
 *
 * Two tables: the schemas (JSON written with single quotes for readability; none of the text holds an
 * apostrophe) and one row per operation naming its request and response schemas. A route added to
 * routes.c must get a row here: tests/test_api.sh fails on any route the router knows that this
 * document does not describe. No limit or enum is written in the schema text: apply_rules() fills them in
 * from the tables the studio checks requests against (studio/rules.h), so the document cannot drift.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/routes.h"
#include "studio/log.h"
#include "studio/rules.h"

/* Not re-wrapped by clang-format: a schema per line group reads better than split string pieces. */
/* clang-format off */
static const char schemas_json[] =
    "{"
    "'Error': {'type': 'object', 'required': ['detail'], 'properties': {'detail': {'type': 'string'},"
    "  'field': {'type': 'string', 'description': 'the request field the error is about, when there is one'}}},"
    "'Message': {'type': 'object', 'required': ['message'], 'properties': {'message': {'type': 'string'}}},"
    "'Root': {'type': 'object', 'properties': {'message': {'type': 'string'}, 'version': {'type': 'string'}}},"
    "'Health': {'type': 'object', 'properties': {"
    "  'status': {'type': 'string'}, 'model_loaded': {'type': 'boolean'},"
    "  'model_downloaded': {'type': 'boolean', 'nullable': true}, 'model_size': {'type': 'string', 'nullable': true},"
    "  'gpu_available': {'type': 'boolean'}, 'gpu_type': {'type': 'string', 'nullable': true},"
    "  'vram_used_mb': {'type': 'number', 'nullable': true}, 'backend_type': {'type': 'string', 'nullable': true},"
    "  'model_precision': {'type': 'string', 'enum': ['bf16', 'int8'], 'nullable': true}}},"
    "'Precision': {'type': 'string', 'enum': ['bf16', 'int8'], 'description': 'bf16: the released weights "
    "(exact); int8: decode-step matrices quantized at load (faster, half the memory)'},"
    "'ActiveTasks': {'type': 'object', 'properties': {"
    "  'downloads': {'type': 'array', 'items': {'type': 'object'}},"
    "  'generations': {'type': 'array', 'items': {'type': 'object'}}}},"
    "'Language': {'type': 'string'},"
    "'ProfileCreate': {'type': 'object', 'required': ['name'], 'properties': {"
    "  'name': {'type': 'string'},"
    "  'description': {'type': 'string', 'nullable': true},"
    "  'language': {'$ref': '#/components/schemas/Language'}}},"
    "'Profile': {'type': 'object', 'properties': {"
    "  'id': {'type': 'string', 'format': 'uuid'}, 'name': {'type': 'string'},"
    "  'description': {'type': 'string', 'nullable': true}, 'language': {'$ref': '#/components/schemas/Language'},"
    "  'avatar_path': {'type': 'string', 'nullable': true},"
    "  'created_at': {'type': 'string', 'format': 'date-time'}, 'updated_at': {'type': 'string', 'format': 'date-time'}}},"
    "'SampleUpload': {'type': 'object', 'required': ['file', 'reference_text'], 'properties': {"
    "  'file': {'type': 'string', 'format': 'binary'},"
    "  'reference_text': {'type': 'string'}}},"
    "'SampleUpdate': {'type': 'object', 'required': ['reference_text'], 'properties': {"
    "  'reference_text': {'type': 'string'}}},"
    "'Sample': {'type': 'object', 'properties': {"
    "  'id': {'type': 'string', 'format': 'uuid'}, 'profile_id': {'type': 'string', 'format': 'uuid'},"
    "  'audio_path': {'type': 'string'}, 'reference_text': {'type': 'string'}, 'duration': {'type': 'number'},"
    "  'missing': {'type': 'boolean', 'description': 'its file was not found at the last start; the row is kept'}}},"
    "'HistoryItem': {'type': 'object', 'properties': {"
    "  'id': {'type': 'string', 'format': 'uuid'}, 'profile_id': {'type': 'string', 'format': 'uuid'},"
    "  'profile_name': {'type': 'string'}, 'text': {'type': 'string'}, 'language': {'type': 'string'},"
    "  'audio_path': {'type': 'string', 'nullable': true}, 'duration': {'type': 'number', 'nullable': true},"
    "  'seed': {'type': 'integer', 'nullable': true}, 'instruct': {'type': 'string', 'nullable': true},"
    "  'model_size': {'type': 'string', 'nullable': true}, 'status': {'type': 'string'},"
    "  'error': {'type': 'string', 'nullable': true}, 'created_at': {'type': 'string', 'format': 'date-time'},"
    "  'settings': {'type': 'object', 'nullable': true, 'description': 'the chunking and sampling settings the take was made with'},"
    "  'is_favorited': {'type': 'boolean'},"
    "  'missing': {'type': 'boolean', 'description': 'its file was not found at the last start; the row is kept'}}},"
    "'HistoryList': {'type': 'object', 'properties': {"
    "  'items': {'type': 'array', 'items': {'$ref': '#/components/schemas/HistoryItem'}}, 'total': {'type': 'integer'}}},"
    "'HistoryStats': {'type': 'object', 'properties': {"
    "  'total_generations': {'type': 'integer'}, 'total_duration_seconds': {'type': 'number'},"
    "  'generations_by_profile': {'type': 'object', 'additionalProperties': {'type': 'integer'}}}},"
    "'LogTail': {'type': 'object', 'properties': {'log_file': {'type': 'string', 'nullable': true},"
    "  'lines': {'type': 'array', 'items': {'type': 'string'}}}},"
    "'GenerateRequest': {'type': 'object', 'required': ['profile_id', 'text'], 'properties': {"
    "  'profile_id': {'type': 'string', 'format': 'uuid'}, 'text': {'type': 'string'},"
    "  'language': {'$ref': '#/components/schemas/Language'},"
    "  'seed': {'type': 'integer', 'nullable': true, 'description': 'random (and stored) when absent'},"
    "  'model_size': {'$ref': '#/components/schemas/ModelSize'},"
    "  'instruct': {'type': 'string', 'nullable': true},"
    "  'max_chunk_chars': {'type': 'integer', 'minimum': 100, 'maximum': 5000, 'description': 'a longer text is spoken in chunks split at sentence ends; default from /settings/generation (800)'},"
    "  'crossfade_ms': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'description': 'the crossfade joining chunks; default 50'},"
    "  'normalize': {'type': 'boolean', 'description': 'peak-normalize the take to -1 dBFS; default from /settings/generation'},"
    "  'max_frames': {'type': 'integer', 'minimum': 1, 'maximum': 8192, 'description': 'a ceiling on each chunk (12.5 frames a second)'},"
    "  'temperature': {'type': 'number', 'minimum': 0.01, 'maximum': 2, 'default': 0.9},"
    "  'top_k': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'default': 50},"
    "  'top_p': {'type': 'number', 'minimum': 0.01, 'maximum': 1, 'default': 1},"
    "  'repetition_penalty': {'type': 'number', 'minimum': 1, 'maximum': 2, 'default': 1.05},"
    "  'subtalker_temperature': {'type': 'number', 'minimum': 0.01, 'maximum': 2, 'default': 0.9},"
    "  'subtalker_top_k': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'default': 50},"
    "  'subtalker_top_p': {'type': 'number', 'minimum': 0.01, 'maximum': 1, 'default': 1}}},"
    "'GenerateStreamRequest': {'allOf': [{'$ref': '#/components/schemas/GenerateRequest'}, {'type': 'object', 'properties': {"
    "  'format': {'type': 'string', 'enum': ['wav', 'pcm'], 'default': 'wav', 'description': 'wav: a WAV header with unknown sizes (0xFFFFFFFF), then the samples; pcm: raw 16-bit little-endian mono at 24 kHz'},"
    "  'normalize': {'type': 'boolean', 'enum': [false], 'description': 'a stream cannot be peak-normalised; the default from /settings/generation is ignored'}}}]},"
    "'ModelSize': {'type': 'string'},"
    "'ModelName': {'type': 'string'},"
    "'ModelStatus': {'type': 'object', 'properties': {'models': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "  'model_name': {'type': 'string'}, 'display_name': {'type': 'string'}, 'model_size': {'type': 'string'},"
    "  'repo_id': {'type': 'string'}, 'downloaded': {'type': 'boolean'}, 'downloading': {'type': 'boolean'},"
    "  'loaded': {'type': 'boolean'}, 'size_mb': {'type': 'number'},"
    "  'precision': {'type': 'string', 'enum': ['bf16', 'int8'], 'nullable': true},"
    "  'damaged': {'type': 'boolean', 'description': 'downloaded, but a file fails the integrity check: download it again'},"
    "  'error': {'type': 'string', 'nullable': true, 'description': 'what is damaged, naming the file'}}}}}},"
    "'ModelDownload': {'type': 'object', 'required': ['model_name'], 'properties': {"
    "  'model_name': {'$ref': '#/components/schemas/ModelName'}}},"
    "'ModelProgress': {'type': 'object', 'description': 'one server-sent event: data: {...}', 'properties': {"
    "  'model_name': {'type': 'string'}, 'current': {'type': 'integer'}, 'total': {'type': 'integer'},"
    "  'progress': {'type': 'number'}, 'filename': {'type': 'string'},"
    "  'status': {'type': 'string', 'enum': ['downloading', 'complete', 'error']}}},"
    "'TranscribeUpload': {'type': 'object', 'required': ['file'], 'properties': {"
    "  'file': {'type': 'string', 'format': 'binary', 'description': 'WAV, FLAC, OGG or MP3 of speech; at most 50 MB; longer than 30 s is cut into 30 s windows'},"
    "  'language': {'type': 'string', 'description': 'a code such as en or de; detected when absent or auto'},"
    "  'model': {'type': 'string', 'description': 'a Whisper model name'}}},"
    "'Transcription': {'type': 'object', 'properties': {'text': {'type': 'string'}, 'duration': {'type': 'number', 'description': 'seconds of audio'}}},"
    "'CacheClear': {'type': 'object', 'properties': {'message': {'type': 'string'}, 'files_deleted': {'type': 'integer'}}},"
    "'TakeStatus': {'type': 'object', 'description': 'one server-sent event: data: {...}; heartbeats between; the stream ends on a final status', 'properties': {"
    "  'id': {'type': 'string', 'format': 'uuid'},"
    "  'status': {'type': 'string', 'enum': ['queued', 'downloading', 'loading_model', 'generating', 'completed', 'failed', 'cancelled', 'not_found']},"
    "  'progress': {'type': 'number', 'description': '0 to 100 over the whole take'},"
    "  'position': {'type': 'integer', 'description': 'place in the queue, 1 = next; 0 when not queued'},"
    "  'duration': {'type': 'number', 'nullable': true}, 'error': {'type': 'string', 'nullable': true}}},"
    "'StoryCreate': {'type': 'object', 'required': ['name'], 'properties': {"
    "  'name': {'type': 'string', 'minLength': 1, 'maxLength': 100},"
    "  'description': {'type': 'string', 'maxLength': 500, 'nullable': true}}},"
    "'Story': {'type': 'object', 'properties': {"
    "  'id': {'type': 'string', 'format': 'uuid'}, 'name': {'type': 'string'},"
    "  'description': {'type': 'string', 'nullable': true}, 'item_count': {'type': 'integer'},"
    "  'created_at': {'type': 'string', 'format': 'date-time'}, 'updated_at': {'type': 'string', 'format': 'date-time'}}},"
    "'StoryItem': {'type': 'object', 'properties': {"
    "  'id': {'type': 'string', 'format': 'uuid'}, 'story_id': {'type': 'string', 'format': 'uuid'},"
    "  'generation_id': {'type': 'string', 'format': 'uuid'}, 'start_time_ms': {'type': 'integer'},"
    "  'track': {'type': 'integer'}, 'trim_start_ms': {'type': 'integer'}, 'trim_end_ms': {'type': 'integer'},"
    "  'created_at': {'type': 'string', 'format': 'date-time'}, 'profile_id': {'type': 'string'},"
    "  'profile_name': {'type': 'string'}, 'text': {'type': 'string'}, 'language': {'type': 'string'},"
    "  'audio_path': {'type': 'string', 'nullable': true}, 'duration': {'type': 'number', 'nullable': true},"
    "  'seed': {'type': 'integer', 'nullable': true}, 'instruct': {'type': 'string', 'nullable': true},"
    "  'generation_created_at': {'type': 'string', 'format': 'date-time'},"
    "  'model_size': {'type': 'string', 'nullable': true}}},"
    "'StoryDetail': {'allOf': [{'$ref': '#/components/schemas/Story'}, {'type': 'object', 'properties': {"
    "  'items': {'type': 'array', 'items': {'$ref': '#/components/schemas/StoryItem'}}}}]},"
    "'StoryItemCreate': {'type': 'object', 'required': ['generation_id'], 'properties': {"
    "  'generation_id': {'type': 'string', 'format': 'uuid'},"
    "  'start_time_ms': {'type': 'integer', 'minimum': 0, 'nullable': true, 'description': 'none: after the latest end + 200 ms'},"
    "  'track': {'type': 'integer', 'minimum': 0, 'default': 0}}},"
    "'StoryItemTimes': {'type': 'object', 'required': ['updates'], 'properties': {"
    "  'updates': {'type': 'array', 'items': {'type': 'object', 'required': ['generation_id', 'start_time_ms'], 'properties': {"
    "    'generation_id': {'type': 'string'}, 'start_time_ms': {'type': 'integer', 'minimum': 0}}}}}},"
    "'StoryItemReorder': {'type': 'object', 'required': ['generation_ids'], 'properties': {"
    "  'generation_ids': {'type': 'array', 'minItems': 1, 'items': {'type': 'string'}}}},"
    "'StoryItemMove': {'type': 'object', 'required': ['start_time_ms'], 'properties': {"
    "  'start_time_ms': {'type': 'integer', 'minimum': 0}, 'track': {'type': 'integer', 'minimum': 0, 'default': 0}}},"
    "'StoryItemTrim': {'type': 'object', 'required': ['trim_start_ms', 'trim_end_ms'], 'properties': {"
    "  'trim_start_ms': {'type': 'integer', 'minimum': 0}, 'trim_end_ms': {'type': 'integer', 'minimum': 0}}},"
    "'StoryItemSplit': {'type': 'object', 'required': ['split_time_ms'], 'properties': {"
    "  'split_time_ms': {'type': 'integer', 'minimum': 1, 'description': 'relative to the clip start as shown'}}},"
    "'ChannelCreate': {'type': 'object', 'required': ['name'], 'properties': {"
    "  'name': {'type': 'string', 'minLength': 1, 'maxLength': 100},"
    "  'device_ids': {'type': 'array', 'maxItems': 64, 'items': {'type': 'string'}}}},"
    "'ChannelUpdate': {'type': 'object', 'properties': {"
    "  'name': {'type': 'string', 'minLength': 1, 'maxLength': 100, 'nullable': true},"
    "  'device_ids': {'type': 'array', 'maxItems': 64, 'items': {'type': 'string'}, 'nullable': true}}},"
    "'Channel': {'type': 'object', 'properties': {"
    "  'id': {'type': 'string', 'format': 'uuid'}, 'name': {'type': 'string'}, 'is_default': {'type': 'boolean'},"
    "  'device_ids': {'type': 'array', 'items': {'type': 'string'}}, 'created_at': {'type': 'string', 'format': 'date-time'}}},"
    "'ChannelVoices': {'type': 'object', 'required': ['profile_ids'], 'properties': {"
    "  'profile_ids': {'type': 'array', 'items': {'type': 'string', 'format': 'uuid'}}}},"
    "'ProfileChannels': {'type': 'object', 'required': ['channel_ids'], 'properties': {"
    "  'channel_ids': {'type': 'array', 'items': {'type': 'string', 'format': 'uuid'}}}},"
    "'GenerationSettings': {'type': 'object', 'description': 'the defaults of a take', 'properties': {"
    "  'max_chunk_chars': {'type': 'integer', 'minimum': 100, 'maximum': 5000, 'default': 800},"
    "  'crossfade_ms': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'default': 50},"
    "  'normalize_audio': {'type': 'boolean', 'default': false}, 'autoplay_on_generate': {'type': 'boolean', 'default': true},"
    "  'temperature': {'type': 'number', 'minimum': 0.01, 'maximum': 2, 'default': 0.9},"
    "  'top_k': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'default': 50},"
    "  'top_p': {'type': 'number', 'minimum': 0.01, 'maximum': 1, 'default': 1},"
    "  'repetition_penalty': {'type': 'number', 'minimum': 1, 'maximum': 2, 'default': 1.05},"
    "  'subtalker_temperature': {'type': 'number', 'minimum': 0.01, 'maximum': 2, 'default': 0.9},"
    "  'subtalker_top_k': {'type': 'integer', 'minimum': 0, 'maximum': 1000, 'default': 50},"
    "  'subtalker_top_p': {'type': 'number', 'minimum': 0.01, 'maximum': 1, 'default': 1}}},"
    "'NotOurs': {'type': 'object', 'description': 'a feature of the Voicebox apps that voicebox does not have, answered as off or empty'},"
    "'CacheDir': {'type': 'object', 'properties': {'path': {'type': 'string'}}},"
    "'SpeechRequest': {'type': 'object', 'required': ['model', 'input', 'voice'], 'properties': {"
    "  'model': {'type': 'string', 'description': 'tts-1 (0.6B), tts-1-hd (1.7B), or qwen-tts-1.7B / qwen-tts-0.6B / 1.7B / 0.6B'},"
    "  'input': {'type': 'string'}, 'voice': {'type': 'string', 'description': 'a voice profile name or id'},"
    "  'response_format': {'type': 'string', 'enum': ['mp3', 'opus', 'flac', 'wav', 'pcm'], 'default': 'mp3'},"
    "  'speed': {'type': 'number', 'enum': [1.0]}}},"
    "'ModelList': {'type': 'object', 'properties': {'object': {'type': 'string'}, 'data': {'type': 'array', 'items': {'type': 'object'}}}},"
    "'PackageUpload': {'type': 'object', 'required': ['file'], 'properties': {"
    "  'file': {'type': 'string', 'format': 'binary', 'description': 'a .voicebox.zip package'}}},"
    "'ImportedTake': {'allOf': [{'$ref': '#/components/schemas/HistoryItem'}, {'type': 'object', 'properties': {"
    "  'message': {'type': 'string'}}}]},"
    "'AvatarUpload': {'type': 'object', 'required': ['file'], 'properties': {"
    "  'file': {'type': 'string', 'format': 'binary', 'description': 'PNG, JPEG or WebP, at most 5 MB; stored upright, over white, within 512 x 512'}}},"
    "'OpenAPI': {'type': 'object'}"
    "}";
/* clang-format on */

/* request: NULL, "json:<Schema>" or "form:<Schema>". response: "<Schema>", "[<Schema>]" (an array),
 * "audio" (audio/wav with Range support) or "html|<Schema>" (index.html when installed). errors: the
 * statuses besides 200 it may answer, space separated. */
static const struct {
    const char *method, *path, *summary, *request, *response, *errors;
} ops[] = {
    {"get", "/", "API greeting (or the web UI when installed)", NULL, "html|Root", ""},
    {"get", "/health", "Server and model status", NULL, "Health", ""},
    {"post", "/shutdown", "Stop the server (loopback clients only)", NULL, "Message", "403"},
    {"get", "/openapi.json", "This document", NULL, "OpenAPI", ""},
    {"get", "/tasks/active", "Downloads and generations in progress", NULL, "ActiveTasks", ""},
    {"get", "/logs/tail", "The last lines of the server log file", NULL, "LogTail", "422"},
    {"post", "/profiles", "Create a voice profile", "json:ProfileCreate", "Profile", "400 413 415 422"},
    {"get", "/profiles", "List voice profiles, newest first", NULL, "[Profile]", ""},
    {"get", "/profiles/{profile_id}", "Get a voice profile", NULL, "Profile", "404"},
    {"put", "/profiles/{profile_id}", "Update a voice profile", "json:ProfileCreate", "Profile",
     "400 404 413 415 422"},
    {"delete", "/profiles/{profile_id}", "Delete a profile with its samples, generations and files", NULL,
     "Message", "404"},
    {"post", "/profiles/{profile_id}/samples", "Add a reference sample (multipart upload)",
     "form:SampleUpload", "Sample", "400 404 413 415 422"},
    {"get", "/profiles/{profile_id}/samples", "List a profile's samples", NULL, "[Sample]", "404"},
    {"put", "/profiles/samples/{sample_id}", "Change a sample's reference text", "json:SampleUpdate",
     "Sample", "400 404 413 415 422"},
    {"delete", "/profiles/samples/{sample_id}", "Delete a sample and its file", NULL, "Message", "404"},
    {"get", "/samples/{sample_id}", "A sample's audio", NULL, "audio", "404 416"},
    {"get", "/history", "Generation history, newest first", NULL, "HistoryList", "422"},
    {"get", "/history/stats", "History totals", NULL, "HistoryStats", ""},
    {"get", "/history/{generation_id}", "One generation", NULL, "HistoryItem", "404"},
    {"delete", "/history/{generation_id}", "Delete a generation and its audio", NULL, "Message", "404"},
    {"get", "/history/{generation_id}/export-audio", "A generation's audio as a download", NULL, "audio",
     "404 416"},
    {"get", "/audio/{generation_id}", "A generation's audio", NULL, "audio", "404 416"},
    {"post", "/generate",
     "Speak text in a profile's voice: the take is recorded (status queued) and answered once final, or at "
     "once with ?wait=false; a model not downloaded is downloaded first",
     "json:GenerateRequest", "HistoryItem", "400 404 409 413 415 422 503"},
    {"post", "/generate/stream",
     "Speak text and answer with the audio as it is generated (WAV of unknown length or raw PCM); queued "
     "with the takes, not recorded in the history; cancelled when the client goes away",
     "json:GenerateStreamRequest", "audiostream", "400 404 409 413 415 422 503"},
    {"post", "/cache/clear", "Forget every cached voice prompt", NULL, "CacheClear", "503"},
    {"get", "/models/status", "Each model's download and load state", NULL, "ModelStatus", "503"},
    {"post", "/models/download", "Start downloading a model from the Hub", "json:ModelDownload", "Message",
     "400 404 413 415 422 503"},
    {"post", "/models/load", "Load the model of a size, unloading the other", NULL, "Message", "409 422 503"},
    {"post", "/models/unload", "Unload the resident model", NULL, "Message", "503"},
    {"get", "/models/progress/{model_name}", "Download progress as server-sent events", NULL,
     "sse|ModelProgress", "404 503"},
    {"delete", "/models/{model_name}", "Delete a model from the Hub cache", NULL, "Message", "400 404 503"},
    {"post", "/transcribe", "The words of a recording (Whisper); 409 until the model is downloaded",
     "form:TranscribeUpload", "Transcription", "409 413 415 422"},
    {"get", "/generate/{generation_id}/status", "A take's status as server-sent events until it is final",
     NULL, "sse|TakeStatus", "503"},
    {"post", "/generate/{generation_id}/cancel", "Cancel a queued or running take", NULL, "HistoryItem",
     "400 404 503"},
    {"post", "/generate/{generation_id}/retry", "Queue a failed or cancelled take again", NULL, "HistoryItem",
     "400 404 409 503"},
    {"delete", "/history/failed", "Delete every failed take", NULL, "Message", ""},
    {"post", "/history/{generation_id}/favorite", "Mark or unmark a take as a favourite (is_favorited)", NULL,
     "HistoryItem", "404"},
    {"post", "/v1/audio/speech",
     "OpenAI-compatible speech (a recorded take; errors in OpenAI's shape): wav, pcm, opus and flac are "
     "streamed as they are generated (the WAV with unknown sizes), mp3 sent once the take is done",
     "json:SpeechRequest", "audio", "400 404 409 413 415 503"},
    {"get", "/v1/models", "OpenAI-compatible model list", NULL, "ModelList", ""},
    {"get", "/settings/generation", "The defaults of a take", NULL, "GenerationSettings", ""},
    {"put", "/settings/generation", "Change the defaults of a take (members given only)",
     "json:GenerationSettings", "GenerationSettings", "400 413 415 422"},
    {"get", "/settings/captures", "Capture settings (captures are not a voicebox feature: off)", NULL,
     "NotOurs", ""},
    {"get", "/capture/readiness", "Capture readiness (not ready: no speech recognition here)", NULL,
     "NotOurs", ""},
    {"get", "/health/filesystem", "The data directories, whether they exist and are writable", NULL,
     "NotOurs", ""},
    {"get", "/effects/available", "Audio effects (none in voicebox): {effects: []}", NULL, "NotOurs", ""},
    {"get", "/effects/presets", "Audio effect presets (none in voicebox): []", NULL, "NotOurs", ""},
    {"get", "/backend/cuda-status", "GPU backend status: not applicable (CPU engine)", NULL, "NotOurs", ""},
    {"get", "/backend/rocm-status", "GPU backend status: not applicable (CPU engine)", NULL, "NotOurs", ""},
    {"get", "/models/cache-dir", "The Hugging Face cache the models are kept in", NULL, "CacheDir", "503"},
    {"post", "/generate/{generation_id}/regenerate", "A new take with the same settings and a new seed", NULL,
     "HistoryItem", "400 404 409 503"},
    {"get", "/stories", "List stories, most recently changed first", NULL, "[Story]", ""},
    {"post", "/stories", "Create a story", "json:StoryCreate", "Story", "400 413 415 422"},
    {"get", "/stories/{story_id}", "A story with its items", NULL, "StoryDetail", "404"},
    {"put", "/stories/{story_id}", "Rename or describe a story", "json:StoryCreate", "Story",
     "400 404 413 415 422"},
    {"delete", "/stories/{story_id}", "Delete a story (its takes stay)", NULL, "Message", "404"},
    {"post", "/stories/{story_id}/items", "Add a take (a take already there returns its item)",
     "json:StoryItemCreate", "StoryItem", "400 404 413 415 422"},
    {"put", "/stories/{story_id}/items/times", "Set the start of items by take", "json:StoryItemTimes",
     "Message", "400 404 413 415 422"},
    {"put", "/stories/{story_id}/items/reorder", "Lay the takes out in this order, 200 ms apart",
     "json:StoryItemReorder", "[StoryItem]", "400 404 413 415 422"},
    {"delete", "/stories/{story_id}/items/{item_id}", "Remove an item", NULL, "Message", "404"},
    {"put", "/stories/{story_id}/items/{item_id}/move", "Move an item in time and across tracks",
     "json:StoryItemMove", "StoryItem", "400 404 413 415 422"},
    {"put", "/stories/{story_id}/items/{item_id}/trim", "Trim an item at its ends", "json:StoryItemTrim",
     "StoryItem", "400 404 413 415 422"},
    {"post", "/stories/{story_id}/items/{item_id}/split", "Split an item in two: [original, new]",
     "json:StoryItemSplit", "[StoryItem]", "400 404 413 415 422"},
    {"post", "/stories/{story_id}/items/{item_id}/duplicate", "Copy an item after itself + 200 ms", NULL,
     "StoryItem", "404"},
    {"get", "/stories/{story_id}/export-audio", "The story mixed into one WAV (24 kHz, 16-bit)", NULL,
     "file:audio/wav", "400 404"},
    {"get", "/channels", "Audio channels (the Default one first)", NULL, "[Channel]", ""},
    {"post", "/channels", "Create an audio channel", "json:ChannelCreate", "Channel", "400 413 415 422"},
    {"get", "/channels/{channel_id}", "One audio channel", NULL, "Channel", "404"},
    {"put", "/channels/{channel_id}", "Rename a channel or set its devices (not the Default one)",
     "json:ChannelUpdate", "Channel", "400 404 413 415 422"},
    {"delete", "/channels/{channel_id}", "Delete a channel (not the Default one)", NULL, "Message",
     "400 404"},
    {"get", "/channels/{channel_id}/voices", "The profiles assigned to a channel", NULL, "ChannelVoices",
     "404"},
    {"put", "/channels/{channel_id}/voices", "Set the profiles of a channel", "json:ChannelVoices", "Message",
     "400 404 413 415 422"},
    {"get", "/profiles/{profile_id}/channels", "The channels a profile speaks on", NULL, "ProfileChannels",
     "404"},
    {"put", "/profiles/{profile_id}/channels", "Set the channels of a profile", "json:ProfileChannels",
     "Message", "400 404 413 415 422"},
    {"get", "/profiles/{profile_id}/export",
     "The profile as a .voicebox.zip (manifest.json, samples.json, samples/, avatar)", NULL,
     "file:application/zip", "404"},
    {"post", "/profiles/import",
     "A .voicebox.zip as a new profile (at most 100 MB; a taken name gets ' (1)')", "form:PackageUpload",
     "Profile", "400 413 415 422"},
    {"get", "/history/{generation_id}/export", "A take as a .voicebox.zip (manifest.json, audio/)", NULL,
     "file:application/zip", "404"},
    {"post", "/history/import", "A packaged take, given to the profile of its name (at most 50 MB)",
     "form:PackageUpload", "ImportedTake", "400 413 415 422"},
    {"post", "/profiles/{profile_id}/avatar", "Set the profile's picture", "form:AvatarUpload", "Profile",
     "400 404 413 415 422"},
    {"get", "/profiles/{profile_id}/avatar", "The profile's picture (PNG)", NULL, "file:image/png", "404"},
    {"delete", "/profiles/{profile_id}/avatar", "Remove the profile's picture", NULL, "Message", "404"},
};

static json_t *ref(const char *schema)
{
    char buf[128];
    snprintf(buf, sizeof buf, "#/components/schemas/%s", schema);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

static json_t *response_for(const char *spec)
{
    if (!strcmp(spec, "audio"))
        return json_pack("{s:s, s:{s:{s:{s:s, s:s}}}}", "description", "WAV audio; a Range request gets 206",
                         "content", "audio/wav", "schema", "type", "string", "format", "binary");
    if (!strcmp(spec, "audiostream"))
        return json_pack("{s:s, s:{s:{s:{s:s, s:s}}, s:{s:{s:s, s:s}}}}", "description",
                         "Sent chunked as it is generated: 16-bit mono 24 kHz; cut short (no closing chunk) "
                         "when the take fails",
                         "content", "audio/wav", "schema", "type", "string", "format", "binary", "audio/pcm",
                         "schema", "type", "string", "format", "binary");
    if (!strncmp(spec, "file:", 5))
        return json_pack("{s:s, s:{s:{s:{s:s, s:s}}}}", "description", "A download (Content-Disposition)",
                         "content", spec + 5, "schema", "type", "string", "format", "binary");
    if (!strncmp(spec, "sse|", 4))
        return json_pack("{s:s, s:{s:{s:o}}}", "description", "text/event-stream of JSON events", "content",
                         "text/event-stream", "schema", ref(spec + 4));
    if (!strncmp(spec, "html|", 5))
        return json_pack("{s:s, s:{s:{s:{s:s}}, s:{s:o}}}", "description", "OK", "content", "text/html",
                         "schema", "type", "string", "application/json", "schema", ref(spec + 5));
    if (spec[0] == '[') {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strlen(spec) - 2, spec + 1);
        return json_pack("{s:s, s:o}", "description", "OK", "content",
                         json_content(json_pack("{s:s, s:o}", "type", "array", "items", ref(name))));
    }
    return json_pack("{s:s, s:o}", "description", "OK", "content", json_content(ref(spec)));
}

static json_t *operation(size_t i)
{
    json_t *op = json_pack("{s:s, s:s}", "summary", ops[i].summary, "operationId", "");
    char opid[160];
    snprintf(opid, sizeof opid, "%s %s", ops[i].method, ops[i].path);
    json_object_set_new(op, "operationId", json_string(opid));

    json_t *params = json_array();
    for (const char *p = strchr(ops[i].path, '{'); p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", "path",
                                                "required", 1, "schema", "type", "string"));
    }
    if (!strcmp(ops[i].path, "/history")) {
        json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}}", "name", "profile_id", "in", "query",
                                                "schema", "type", "string"));
        json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}}", "name", "search", "in", "query",
                                                "schema", "type", "string"));
        json_array_append_new(params,
                              json_pack("{s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "name", "limit", "in", "query",
                                        "schema", "type", "integer", "minimum", 1, "maximum",
                                        STUDIO_HISTORY_LIMIT_MAX, "default", STUDIO_HISTORY_LIMIT_DEFAULT));
        json_array_append_new(params,
                              json_pack("{s:s, s:s, s:{s:s, s:i, s:i}}", "name", "offset", "in", "query",
                                        "schema", "type", "integer", "minimum", 0, "default", 0));
    }
    if (!strcmp(ops[i].path, "/logs/tail"))
        json_array_append_new(params,
                              json_pack("{s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "name", "lines", "in", "query",
                                        "schema", "type", "integer", "minimum", 1, "maximum",
                                        SRV_LOG_TAIL_MAX_LINES, "default", SRV_LOG_TAIL_DEFAULT_LINES));
    if (!strcmp(ops[i].path, "/generate"))
        json_array_append_new(params,
                              json_pack("{s:s, s:s, s:s, s:{s:s, s:b}}", "name", "wait", "in", "query",
                                        "description", "false: answer at once with the queued take", "schema",
                                        "type", "boolean", "default", 1));
    if (!strcmp(ops[i].path, "/models/load")) {
        json_array_append_new(params, json_pack("{s:s, s:s, s:o}", "name", "model_size", "in", "query",
                                                "schema", ref("ModelSize")));
        json_array_append_new(params, json_pack("{s:s, s:s, s:o}", "name", "precision", "in", "query",
                                                "schema", ref("Precision")));
    }
    if (!strcmp(ops[i].response, "audio"))
        json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}}", "name", "Range", "in", "header",
                                                "schema", "type", "string"));
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);

    if (ops[i].request) {
        int form = !strncmp(ops[i].request, "form:", 5);
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
                                      form ? "multipart/form-data" : "application/json", "schema",
                                      ref(ops[i].request + 5)));
    }
    json_t *responses = json_pack("{s:o}", "200", response_for(ops[i].response));
    char codes[64];
    snprintf(codes, sizeof codes, "%s", ops[i].errors);
    for (char *save = NULL, *code = strtok_r(codes, " ", &save); code; code = strtok_r(NULL, " ", &save))
        json_object_set_new(
            responses, code,
            json_pack("{s:s, s:o}", "description", "Error", "content", json_content(ref("Error"))));
    json_object_set_new(
        responses, "500",
        json_pack("{s:s, s:o}", "description", "Internal fault", "content", json_content(ref("Error"))));
    json_object_set_new(op, "responses", responses);
    return op;
}

static json_t *string_enum(size_t n, const char *(*at)(size_t))
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(at(i)));
    return arr;
}

static const char *model_size_at(size_t i)
{
    return studio_model_at(i)->size;
}

static const char *model_name_at(size_t i)
{
    return studio_model_at(i)->name;
}

/* The TTS models come first in the table, the Whisper ones after them. */
static size_t tts_model_count(void)
{
    size_t n = 0;
    while (n < studio_model_count() && !studio_model_at(n)->whisper)
        n++;
    return n;
}

static const char *whisper_name_at(size_t i)
{
    return studio_model_at(tts_model_count() + i)->name;
}

/* The length limits of the text fields, by schema and property: min_length < 0 means none. */
static const struct {
    const char *schema, *property;
    long min_length, max_length;
} text_limits[] = {
    {"ProfileCreate", "name", 1, STUDIO_NAME_MAX_CHARS},
    {"ProfileCreate", "description", -1, STUDIO_DESCRIPTION_MAX_CHARS},
    {"SampleUpload", "reference_text", 1, STUDIO_REFERENCE_TEXT_MAX_CHARS},
    {"SampleUpdate", "reference_text", 1, STUDIO_REFERENCE_TEXT_MAX_CHARS},
    {"GenerateRequest", "text", 1, STUDIO_TEXT_MAX_CHARS},
    {"GenerateRequest", "instruct", -1, STUDIO_INSTRUCT_MAX_CHARS},
};

static json_t *property(json_t *schemas, const char *schema, const char *name)
{
    return json_object_get(json_object_get(json_object_get(schemas, schema), "properties"), name);
}

/* Fills the enums, defaults and limits of the schemas from the rules. -1 when a schema named here is
 * missing from the text (a programmer's error, logged). */
static int apply_rules(json_t *schemas)
{
    json_t *lang = json_object_get(schemas, "Language"), *size = json_object_get(schemas, "ModelSize");
    json_t *name = json_object_get(schemas, "ModelName"),
           *seed = property(schemas, "GenerateRequest", "seed");
    json_t *file = property(schemas, "SampleUpload", "file");
    if (!lang || !size || !name || !seed || !file) goto missing;
    json_object_set_new(lang, "enum", string_enum(studio_language_count(), studio_language_at));
    json_object_set_new(lang, "default", json_string(STUDIO_DEFAULT_LANGUAGE));
    json_object_set_new(size, "enum", string_enum(tts_model_count(), model_size_at));
    json_object_set_new(size, "default", json_string(studio_model_default()->size));
    json_object_set_new(name, "enum", string_enum(studio_model_count(), model_name_at));
    json_t *whisper = property(schemas, "TranscribeUpload", "model");
    if (!whisper) goto missing;
    json_object_set_new(whisper, "enum",
                        string_enum(studio_model_count() - tts_model_count(), whisper_name_at));
    json_object_set_new(whisper, "default", json_string(STUDIO_WHISPER_DEFAULT));
    json_object_set_new(seed, "minimum", json_integer(0));
    json_object_set_new(seed, "maximum", json_integer(STUDIO_SEED_MAX));
    char text[160];
    snprintf(text, sizeof text, "WAV, FLAC, OGG or MP3; %g to %g s of speech; at most %u MB",
             STUDIO_SAMPLE_MIN_SECONDS, STUDIO_SAMPLE_MAX_SECONDS, STUDIO_UPLOAD_MAX / (1024u * 1024u));
    json_object_set_new(file, "description", json_string(text));
    for (size_t i = 0; i < sizeof text_limits / sizeof text_limits[0]; i++) {
        json_t *p = property(schemas, text_limits[i].schema, text_limits[i].property);
        if (!p) goto missing;
        if (text_limits[i].min_length >= 0)
            json_object_set_new(p, "minLength", json_integer(text_limits[i].min_length));
        json_object_set_new(p, "maxLength", json_integer(text_limits[i].max_length));
    }
    return 0;
missing:
    log_error("openapi.c: a schema that apply_rules fills is missing from the schema text");
    return -1;
}

/* The whole document, a new reference; NULL only when out of memory or the schema text is broken. */
static json_t *build_document(void)
{
    char *text = strdup(schemas_json);
    if (!text) return NULL;
    for (char *p = text; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t jerr;
    json_t *schemas = json_loads(text, 0, &jerr);
    free(text);
    if (!schemas) {
        log_error("openapi.c: schema table is not valid JSON at column %d: %s", jerr.column, jerr.text);
        return NULL;
    }
    if (apply_rules(schemas) != 0) {
        json_decref(schemas);
        return NULL;
    }
    json_t *paths = json_object();
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        json_t *item = json_object_get(paths, ops[i].path);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, ops[i].path, item);
        }
        json_object_set_new(item, ops[i].method, operation(i));
    }
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.3", "info", "title",
                     "voicebox", "version", VOICEBOX_VERSION, "description",
                     "Local voice-cloning studio (Voicebox-compatible API)", "paths", paths, "components",
                     "schemas", schemas);
}

void srv_get_openapi(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    (void)req;
    json_t *doc = build_document();
    if (!doc) {
        srv_error(res, 500, "the OpenAPI document cannot be built");
        return;
    }
    srv_json(res, 200, doc);
}
