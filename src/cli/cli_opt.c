/* cli_opt.c — see cli_opt.h. Nothing here prints: the caller words the error for its own subcommand. */
#include "cli/cli_opt.h"

#include <string.h>

int cli_take_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}
