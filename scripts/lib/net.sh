# Loopback helpers shared by scripts/demo, the benchmarks and the tests (tests/e2e/lib.sh sources this).

# free_port: a TCP port nothing listens on at 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# http_up URL: waits (10 s at most) until URL answers with any HTTP status; returns 1 if it never does.
http_up() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    return 1
}
