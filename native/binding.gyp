{
  "targets": [
    {
      "target_name": "wharf_native",
      "sources": ["wharf_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "wharf-hide-cgroup2",
      "type": "executable",
      "sources": ["hide-cgroup2.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
