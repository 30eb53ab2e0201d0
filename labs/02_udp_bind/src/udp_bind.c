/* udp_bind.c - lab 02: binding a UDP socket and receiving datagrams.
 *
 * This is the file you edit. Each function below compiles and fails with ENOSYS until you
 * write it; include/udp_bind.h says what each one must do, and `make test` checks it.
 * Check every call, and keep errno as the failing call left it when you clean up
 * (close() and free() on the way out may change it: save it and put it back).
 */
#include "udp_bind.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int udp_bind(const char *host, uint16_t port)
{
    /* TODO(lab02): getaddrinfo(node, service, &hints, &res) with hints AF_INET, SOCK_DGRAM
     * and AI_PASSIVE. For host NULL, "" or "0.0.0.0" pass node NULL: with AI_PASSIVE that
     * is INADDR_ANY (any address, so LAN and broadcast traffic arrive too). The port goes
     * in service as a decimal string ("%u"). Loop through the results: socket(), bind();
     * on a failure close the socket and try the next. freeaddrinfo(res). Do NOT set
     * SO_REUSEADDR: a taken port must fail with errno EADDRINUSE. getaddrinfo returns EAI_*
     * codes, not errno: set an errno yourself when it fails. Return the fd. */
    (void)host;
    (void)port;
    errno = ENOSYS;
    return -1;
}

int udp_local_port(int fd)
{
    /* TODO(lab02): getsockname(fd, ...) into a struct sockaddr_in, with its length
     * variable initialised to sizeof the struct (the kernel reads it first). The port is in
     * network byte order: return ntohs(sin_port). */
    (void)fd;
    errno = ENOSYS;
    return -1;
}

int udp_implicit_port(const struct sockaddr_in *dst)
{
    /* TODO(lab02): socket(AF_INET, SOCK_DGRAM, 0), and NO bind. sendto the 4 bytes "ping"
     * (not 5: no NUL) to dst; that first send makes the system bind the socket to an
     * ephemeral port. Only now does getsockname (udp_local_port) show it: before the send
     * it says 0. Close the socket on every path, success or failure. */
    (void)dst;
    errno = ENOSYS;
    return -1;
}

ssize_t udp_recv_from(int fd, void *buf, size_t cap, struct sockaddr_in *from)
{
    /* TODO(lab02): receive ONE datagram with recvmsg(): a struct msghdr whose msg_name
     * points at a struct sockaddr_in (msg_namelen = its size) and whose one iovec is buf,
     * cap. If the datagram was longer than cap the kernel cuts it silently, and only
     * (msg.msg_flags & MSG_TRUNC) tells you: then return -1 with errno = EMSGSIZE (the
     * datagram is gone either way). Fill *from (unless NULL) in that case too. A return of
     * 0 is an empty datagram, not an error. EINTR: return -1 at once, do not retry. */
    (void)fd;
    (void)buf;
    (void)cap;
    (void)from;
    errno = ENOSYS;
    return -1;
}

int udp_echo_serve(int fd, int upper, volatile sig_atomic_t *stop)
{
    /* TODO(lab02): while (!*stop): receive one datagram (udp_recv_from) into a buffer of
     * UDP_MAX_PAYLOAD bytes (malloc it: 64 KiB is a lot of stack); on EINTR go round again
     * (the loop test then sees *stop); on another error return -1. If upper, change only
     * the bytes 'a'..'z' to 'A'..'Z' (not toupper(): bytes >= 0x80 must stay as they are).
     * sendto the n received bytes (n, never strlen: NULs and empty datagrams are data) back
     * to the address this datagram came from. Free the buffer; return 0. */
    (void)fd;
    (void)upper;
    (void)stop;
    errno = ENOSYS;
    return -1;
}

int udp_chat(int fd, const struct sockaddr_in *peer, const char *name, int in_fd, FILE *out)
{
    /* TODO(lab02): loop on poll() over fd and in_fd (POLLIN), so that whichever is ready
     * first is served: incoming messages must print while nobody types.
     * - in_fd readable: read() (not fgets/stdio, which read ahead and fool poll) into your
     *   own line buffer; read may give half a line or several. For each whole line: strip
     *   the "\n" and a "\r" before it; "stop" ends the chat (not sent); otherwise build
     *   {"name": name, "msg": line} with cJSON_CreateObject, cJSON_AddStringToObject,
     *   cJSON_PrintUnformatted (never sprintf: quotes, backslashes and control characters
     *   must be escaped), sendto peer, cJSON_free/cJSON_Delete. read() == 0 is EOF: send a
     *   last unfinished line, then end.
     * - fd readable: one datagram (udp_recv_from); cJSON_ParseWithLength on exactly n bytes;
     *   if it is an object with string "name" and "msg" (cJSON_GetObjectItemCaseSensitive,
     *   cJSON_IsString) print "[NAME] MSG\n" to out, else "! invalid message from
     *   A.B.C.D:PORT\n" (inet_ntop, ntohs); fflush(out) either way. An empty datagram is
     *   just invalid, not the end.
     * - poll, read or recv failing with EINTR (a signal) ends the chat: return 0.
     * Return 0 at the end, -1 on an error. */
    (void)fd;
    (void)peer;
    (void)name;
    (void)in_fd;
    (void)out;
    errno = ENOSYS;
    return -1;
}
