ui               = true
cluster_name     = "bao"
plugin_directory = "/openbao/plugins"
log_level        = "info"
listener "tcp" {
  address              = "[::]:8200"
  cluster_address      = "[::]:8201"
  max_request_duration = "90s"
  tls_cert_file        = "/etc/bao/tls/tls.crt"
  tls_key_file         = "/etc/bao/tls/tls.key"
  tls_client_ca_file   = "/etc/bao/tls/ca.crt"
  tls_auto_reload      = true
}
seal "static" {
  current_key_id = "operator-generated-v1"
  current_key    = "file:///etc/bao/unseal/key"
}
storage "raft" {
  path = "/bao/data"
  retry_join {
    auto_join               = "provider=k8s namespace=\"prod\" label_selector=\"app.kubernetes.io/name=openbao,app.kubernetes.io/instance=bao,app.kubernetes.io/managed-by=openbao-operator,openbao.org/cluster=bao\""
    auto_join_scheme        = "https"
    auto_join_port          = 8200
    leader_tls_servername   = "openbao-cluster-bao.local"
    leader_ca_cert_file     = "/etc/bao/tls/ca.crt"
    leader_client_cert_file = "/etc/bao/tls/tls.crt"
    leader_client_key_file  = "/etc/bao/tls/tls.key"
  }
}
service_registration "kubernetes" {
  namespace = "prod"
}
plugin "auth" "kept" {
  command = "auth-bin"
  version = "v2.0.0"
}
plugin "database" "image-wins" {
  image   = "ghcr.io/x/db@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  version = "v1"
}
