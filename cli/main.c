/*
 * main.c - the herald command: global options, then one command
 *
 *   herald [-c FILE] check | devices | options ... | route ... | send ...
 *
 * The device file is -c FILE, else $HERALD_CONF, else $sysconfdir/herald.conf
 * (herald_default_config_path()).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv, const struct cli_globals *g);
    const char *summary;
};

static const struct command commands[] = {
    { "check", cmd_check, "validate the device file and load its modules" },
    { "devices", cmd_devices, "list the devices, their modules and where they are defined" },
    { "options", cmd_options, "list the options a module accepts, read from the module" },
    { "route", cmd_route, "show the route plan for a domain or address; nothing is sent" },
    { "probe", cmd_probe, "try every hop of the route as the device would; nothing is sent" },
    { "send", cmd_send, "send a message through a device" },
    { "queue", cmd_queue, "run the durable queue; list, show, flush, hold, release, delete" },
};

/* usage - the program's help text */
static void
usage(FILE *out)
{
    size_t i;

    fprintf(out,
            "Usage: herald [-c FILE] COMMAND [ARGS]\n"
            "       herald --help | --version\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE  device file (default: $HERALD_CONF, else %s)\n"
            "  -h, --help         show this help\n"
            "  -V, --version      show the version\n"
            "\n"
            "Commands:\n",
            HERALD_SYSCONFDIR "/herald.conf");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Run 'herald COMMAND --help' for a command's options.\n"
            "\n"
            "Exit status (sysexits): 0 success; 64 usage; 65 bad address or data;\n"
            "66 message file unreadable; 69 a recipient failed permanently (this wins\n"
            "over deferred) or a module is unusable; 70 internal error; 75 a recipient\n"
            "was deferred; 78 configuration error.\n");
}

/* main - parse the global options, then hand the rest to one command */
int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_globals g = { NULL, "herald" };
    size_t i;
    int c;

    opterr = 0;
    /* "+": stop at the command name, whose options are its own. */
    while ((c = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            g.config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return EX_OK;
        case 'V':
            printf("herald %s\n", herald_version());
            return EX_OK;
        default:
            if (optopt == 'c')
                return cli_usage_error(NULL, "option -c needs a FILE");
            return cli_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(NULL, "no command given");
    if (g.config_path == NULL)
        g.config_path = herald_default_config_path();
    else if (*g.config_path == '\0')
        return cli_usage_error(NULL, "option -c needs a FILE");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;

            optind = 0;   /* glibc: a full re-initialisation for the command's parse */
            return commands[i].run(sub_argc, sub_argv, &g);
        }
    }
    if (strcmp(argv[optind], "help") == 0) {
        usage(stdout);
        return EX_OK;
    }
    return cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
}
