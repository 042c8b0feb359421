initialize "enable-audit" {
  request "enable-audit-request" {
    operation = "update"
    path      = "sys/audit/stdout"
    data = {
      type        = "file"
      description = "stdout"
      options = {
        file_path = "stdout"
      }
    }
  }
}
initialize "configure-autopilot" {
  request "configure-autopilot-request" {
    operation = "update"
    path      = "sys/storage/raft/autopilot/configuration"
    data = {
      cleanup_dead_servers = false
    }
  }
}
