ui                                  = false
cluster_name                        = "full"
plugin_directory                    = "/openbao/plugins"
log_level                           = "debug"
log_format                          = "json"
log_file                            = "/tmp/openbao.log"
log_rotate_duration                 = "24h"
log_rotate_bytes                    = 104857600
log_rotate_max_files                = 5
pid_file                            = "/tmp/openbao.pid"
plugin_file_uid                     = 100
plugin_file_permissions             = "0750"
plugin_auto_download                = true
plugin_auto_register                = true
default_lease_ttl                   = "768h"
max_lease_ttl                       = "8760h"
cache_size                          = 131072
disable_cache                       = false
detect_deadlocks                    = "statelock,quotas,expiration"
raw_storage_endpoint                = false
introspection_endpoint              = true
imprecise_lease_role_tracking       = false
unsafe_allow_api_audit_creation     = false
allow_audit_log_prefixing           = false
enable_response_header_hostname     = true
enable_response_header_raft_node_id = true
listener "tcp" {
  address                 = "[::]:8200"
  cluster_address         = "[::]:8201"
  max_request_duration    = "90s"
  proxy_protocol_behavior = "use_always"
  tls_cert_file           = "/etc/bao/tls/tls.crt"
  tls_key_file            = "/etc/bao/tls/tls.key"
  tls_client_ca_file      = "/etc/bao/tls/ca.crt"
  tls_auto_reload         = true
  telemetry {
    unauthenticated_metrics_access = true
  }
}
plugin "kms" "awskms" {
  image       = "ghcr.io/openbao/openbao-plugin-kms-awskms"
  version     = "v0.1.0"
  binary_name = "openbao-plugin-kms-awskms"
  sha256sum   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  args        = ["--log-level=info"]
  env         = ["AWS_REGION=eu-west-1"]
}
seal "awskms" {
  region     = "eu-west-1"
  kms_key_id = "alias/openbao"
  endpoint   = "https://kms.eu-west-1.amazonaws.com"
}
storage "raft" {
  path                   = "/bao/data"
  performance_multiplier = 1
  retry_join {
    auto_join               = "provider=k8s namespace=\"vault-system\" label_selector=\"app.kubernetes.io/name=openbao,app.kubernetes.io/instance=full,app.kubernetes.io/managed-by=openbao-operator,openbao.org/cluster=full\""
    auto_join_scheme        = "https"
    auto_join_port          = 8200
    leader_tls_servername   = "openbao-cluster-full.local"
    leader_ca_cert_file     = "/etc/bao/tls/ca.crt"
    leader_client_cert_file = "/etc/bao/tls/tls.crt"
    leader_client_key_file  = "/etc/bao/tls/tls.key"
  }
}
service_registration "kubernetes" {
  namespace = "vault-system"
}
audit "file" "file-audit" {
  description = "File audit to stdout"
  options = {
    file_path = "stdout"
    mode      = "0600"
  }
}
audit "http" "http-audit" {
  options = {
    uri     = "https://audit.example.com/ingest"
    headers = "{\"X-Source\":[\"openbao\",\"k8s\"]}"
  }
}
audit "syslog" "syslog-audit" {
  options = {
    facility = "AUTH"
    tag      = "openbao"
  }
}
audit "socket" "socket-audit" {
  options = {
    address       = "127.0.0.1:9090"
    socket_type   = "tcp"
    write_timeout = "2s"
  }
}
audit "file" "raw-audit" {
  options = {
    file_path     = "/tmp/raw-audit.log"
    hmac_accessor = "false"
    log_raw       = "true"
    mode          = "0600"
  }
}
plugin "secret" "kv-extra" {
  image       = "ghcr.io/openbao/openbao-plugin-secrets-kv"
  version     = "v1.0.0"
  binary_name = "openbao-plugin-secrets-kv"
  sha256sum   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  args        = ["--log-level=info"]
  env         = ["PLUGIN_MODE=prod"]
}
telemetry {
  usage_gauge_period                     = "10m"
  maximum_gauge_cardinality              = 500
  disable_hostname                       = true
  enable_hostname_label                  = false
  metrics_prefix                         = "openbao"
  lease_metrics_epsilon                  = "1h"
  prometheus_retention_time              = "30s"
  statsite_address                       = "statsite.example.com:8125"
  statsd_address                         = "statsd.example.com:8125"
  dogstatsd_addr                         = "dogstatsd.example.com:8125"
  dogstatsd_tags                         = ["env:prod", "team:platform"]
  circonus_api_app                       = "openbao"
  circonus_api_url                       = "https://api.circonus.example.com/v2"
  circonus_submission_interval           = "10s"
  circonus_check_id                      = "12345"
  circonus_check_force_metric_activation = "false"
  circonus_check_instance_id             = "bao:1"
  circonus_check_search_tag              = "service:openbao"
  circonus_check_display_name            = "OpenBao"
  circonus_check_tags                    = "env:prod"
  circonus_broker_id                     = "42"
  circonus_broker_select_tag             = "dc:eu"
  stackdriver_project_id                 = "my-project"
  stackdriver_location                   = "europe-west1"
  stackdriver_namespace                  = "openbao"
  stackdriver_debug_logs                 = false
}
