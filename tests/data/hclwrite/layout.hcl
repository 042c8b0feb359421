ui               = true
cluster_name     = "bao"
plugin_directory = "/openbao/plugins"
listener "tcp" {
  address              = "[::]:8200"
  tls_disable          = 0
  max_request_duration = "90s"
}
storage "raft" {
  path = "/bao/data"
  retry_join {
    auto_join = "provider=k8s label_selector=\"a=b\""
  }
  performance_multiplier = 1
}
service_registration "kubernetes" {
}
log_level  = "info"
cache_size = 100
audit "file" "to-stdout" {
  description = "d"
  type_x      = "t"
  options = {
    file_path = "/dev/stdout"
    mode      = "0600"
    nested = {
      k = 1
    }
  }
  local = false
  empty = {}
}
l     = ["a", "b"]
e     = []
mixed = [1, true, "x", [2.5], {}]
keys = {
  "9x"         = 4
  "b.c"        = 2
  bare_key-1   = 1
  "with space" = 5
}
lo = [{
  a  = 1
  bb = 2
  }, {
  c = "x"
}]
z = 1
v = "say \"hi\" \\ é ✓ $ % $$ {} 😀 C:\\"
