/*
 * test_servers.c - server processes for the C tests (see test_servers.h)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_servers.h"

uint64_t
test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
test_port_open(const char *ip, uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, ip, &sa.sin_addr);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* wait_ready - read the server's stdout until "READY", bounded in time */
static int
wait_ready(struct test_server *sv, uint64_t wait_ms)
{
    char buf[256];
    size_t len = 0;
    uint64_t end = test_now_ms() + wait_ms;

    while (test_now_ms() < end && len < sizeof buf - 1) {
        struct pollfd p = { sv->out_fd, POLLIN, 0 };
        ssize_t n;

        if (poll(&p, 1, (int)(end - test_now_ms())) <= 0)
            break;
        n = read(sv->out_fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "READY") != NULL)
            return 1;
    }
    return 0;
}

/* wait_port - poll the port until it accepts, bounded in time */
static int
wait_port(const char *ip, uint16_t port, uint64_t wait_ms)
{
    uint64_t end = test_now_ms() + wait_ms;

    while (test_now_ms() < end) {
        if (test_port_open(ip, port))
            return 1;
        poll(NULL, 0, 20);            /* the poll interval, not a wait for the server */
    }
    return 0;
}

int
test_server_start(struct test_server *sv, char *const argv[], const char *ip, uint16_t port,
                  int by_port, uint64_t wait_ms)
{
    int p[2];

    sv->pid = -1;
    sv->out_fd = -1;
    if (pipe(p) != 0)
        return 0;
    sv->pid = fork();
    if (sv->pid < 0) {
        close(p[0]);
        close(p[1]);
        return 0;
    }
    if (sv->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    sv->out_fd = p[0];
    if (by_port ? wait_port(ip, port, wait_ms) : wait_ready(sv, wait_ms))
        return 1;
    fprintf(stderr, "server %s did not start\n", argv[0]);
    return 0;
}

void
test_server_stop(struct test_server *sv)
{
    uint64_t end;
    int status;

    if (sv->pid > 0) {
        kill(sv->pid, SIGTERM);
        end = test_now_ms() + 5000;
        while (waitpid(sv->pid, &status, WNOHANG) == 0) {
            if (test_now_ms() > end) {
                kill(sv->pid, SIGKILL);
                waitpid(sv->pid, &status, 0);
                break;
            }
            poll(NULL, 0, 10);
        }
    }
    if (sv->out_fd >= 0)
        close(sv->out_fd);
    sv->pid = -1;
    sv->out_fd = -1;
}
