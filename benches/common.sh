# Shared by the benchmark scripts in this folder; sourced, not run.

# A free TCP port on the loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# staff_shop BIN URL SHOP N: agents a1..aN of SHOP, online, max load 50,
# created through the node (or load balancer) at URL with tokens signed by
# BIN under FENLIU_JWT_SECRET.
staff_shop() {
  local bin=$1 url=$2 shop=$3 n=$4 admin agent i
  admin=$("$bin" token --role admin --shop "$shop" --sub admin)
  for i in $(seq 1 "$n"); do
    agent=$("$bin" token --role agent --shop "$shop" --sub "a$i")
    curl -sf -XPUT "$url/v1/shops/$shop/agents/a$i" -H "Authorization: Bearer $admin" -d '{}' >/dev/null
    curl -sf -XPUT "$url/v1/shops/$shop/agents/a$i/max_load" -H "Authorization: Bearer $agent" -d '{"max_load":50}' >/dev/null
    curl -sf -XPUT "$url/v1/shops/$shop/agents/a$i/status" -H "Authorization: Bearer $agent" -d '{"status":"online"}' >/dev/null
  done
}
