# tflint with its bundled terraform ruleset (no plugin download), recommended preset.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}
