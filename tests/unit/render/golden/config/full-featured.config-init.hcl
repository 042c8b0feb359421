initialize "enable-k8s-auth" {
  request "enable-k8s-auth-request" {
    operation = "update"
    path      = "sys/auth/kubernetes"
    data = {
      type        = "kubernetes"
      description = "Kubernetes auth"
      config = {
        default_lease_ttl = "1h"
      }
    }
  }
}
initialize "mount-kv" {
  request "mount-kv-request" {
    operation = "update"
    path      = "sys/mounts/secret"
    data = {
      type        = "kv"
      description = "KV v2"
      options = {
        version = "2"
      }
    }
  }
}
initialize "write-policy" {
  request "write-policy-request" {
    operation = "update"
    path      = "sys/policies/acl/reader"
    data = {
      policy = "cGF0aCAic2VjcmV0L2RhdGEvKiIgewogIGNhcGFiaWxpdGllcyA9IFsicmVhZCJdCn0K"
    }
  }
}
initialize "configure-k8s-auth" {
  request "configure-k8s-auth-request" {
    operation = "update"
    path      = "auth/kubernetes/config"
    data = {
      kubernetes_host      = "https://kubernetes.default.svc"
      disable_local_ca_jwt = false
      token_ttl            = 3600
      ratio                = 0.5
      audiences            = ["openbao"]
      nested = {
        kept = true
      }
    }
    allow_failure = true
  }
}
initialize "configure-autopilot" {
  request "configure-autopilot-request" {
    operation = "update"
    path      = "sys/storage/raft/autopilot/configuration"
    data = {
      cleanup_dead_servers               = true
      dead_server_last_contact_threshold = "10m"
      min_quorum                         = 3
      server_stabilization_time          = "10s"
    }
  }
}
