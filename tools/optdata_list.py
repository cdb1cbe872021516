"""The machine-readable option listing of `oslo-config-generator --format json`, for oslo.config
releases older than 4 (newton, ocata), whose generator writes only ini samples.

Runs with the release venv's Python (2.7), passed the output file and the namespaces. The options are
found by that oslo.config's own generator functions (`_list_opts`, which loads each namespace's
`oslo.config.opts` entry point as oslo-config-generator does, and `_get_groups`); each is written as
oslo.config 4's `_generate_machine_readable_data`/`_build_entry` write it, reduced to the keys
tools/optdata.py keeps (name, dest, deprecations).
"""

import json
import sys

from oslo_config import generator


def entry(opt, group):
    deprecated = [{"group": old.group or group, "name": old.name or opt.name}
                  for old in opt.deprecated_opts
                  if not old.name or "-" not in old.name]  # dashed names are not valid in a file
    return {"name": opt.name, "dest": opt.dest, "deprecated_opts": deprecated,
            "deprecated_for_removal": bool(getattr(opt, "deprecated_for_removal", False)),
            "deprecated_since": getattr(opt, "deprecated_since", None)}


def main():
    output, namespaces = sys.argv[1], sys.argv[2:]
    groups = generator._get_groups(generator._list_opts(namespaces))
    data = {"options": {}, "deprecated_options": {}}
    for group_name, group_data in groups.items():
        opts = []
        for namespace, listing in group_data["namespaces"]:
            for opt in listing:
                item = entry(opt, group_name)
                opts.append(item)
                for old in item["deprecated_opts"]:
                    data["deprecated_options"].setdefault(old["group"], []).append(
                        {"name": old["name"], "replacement_name": item["name"], "replacement_group": group_name})
        data["options"][group_name] = {"opts": opts}
    with open(output, "w") as stream:
        json.dump(data, stream, sort_keys=True)


if __name__ == "__main__":
    main()
