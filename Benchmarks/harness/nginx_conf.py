"""nginx `proxy_pass` as the benchmarks run it (make bench-proxy's proxy_bench.py and
Benchmarks/scripts/forwarding-cost.sh): one configuration, so both compare against the same nginx.
Foreground, its own pid, logs and temp paths under `root`; keep-alive to the upstream; request
bodies streamed (`proxy_request_buffering off`), as trace-compat does.

    python3 Benchmarks/harness/nginx_conf.py ROOT PORT UPSTREAM_PORT WORKERS   # prints the file
"""
import sys

NGINX_CONF = """daemon off;
master_process on;
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 32m;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    upstream agent {{
        server 127.0.0.1:{upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://agent;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
        }}
    }}
}}
"""


def render(root, port, upstream, workers):
    return NGINX_CONF.format(root=root, port=port, upstream=upstream, workers=workers)


if __name__ == "__main__":
    root, port, upstream, workers = sys.argv[1:5]
    sys.stdout.write(render(root, port, upstream, workers))
