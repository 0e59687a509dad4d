# Sourced by bench/crawl/run.sh and distributed.sh: the nginx that serves
# the generated site.
#
#   nginx_conf DIR LISTEN...   writes DIR/nginx.conf: a static server of
#                              DIR/html on each LISTEN (ADDRESS:PORT), no
#                              access log, long keep-alive; temp files
#                              under DIR/tmp.
nginx_conf() {
    local dir=$1 listens="" l
    shift
    for l in "$@"; do listens+="        listen $l;"$'\n'; done
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
    types { text/html html; }
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {
$listens        root $dir/html;
    }
}
CONF
}
