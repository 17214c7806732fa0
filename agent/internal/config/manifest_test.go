package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePluginManifest(t *testing.T) {
	tests := []struct {
		name, file, yml string
		want            func(p *Plugin) // edits defaultPlugin() into the expected value
		wantErr         string
	}{
		{
			name: "name and path from the file name",
			file: "/etc/proctag/plugins.d/jvm-name.yaml", yml: "tag-prefix: jvm.\n",
			want: func(p *Plugin) {
				p.Name, p.Path, p.TagPrefix = "jvm-name", "/etc/proctag/plugins.d/jvm-name.wasm", "jvm."
			},
		},
		{
			name: "explicit path relative to the manifest",
			file: "/p.d/cmdb.yaml", yml: "name: cmdb\npath: build/cmdb-v2.wasm\ncapabilities: [drop]\n",
			want: func(p *Plugin) { p.Name, p.Path, p.Capabilities = "cmdb", "/p.d/build/cmdb-v2.wasm", []string{"drop"} },
		},
		{
			name: "empty manifest needs a tag prefix for the default grant",
			file: "/p.d/x.yaml", yml: "",
			wantErr: "/p.d/x.yaml:1: tag-prefix: is missing; a plugin granted tag needs a tag key prefix",
		},
		{
			name: "name differing from the file",
			file: "/p.d/x.yaml", yml: "name: y\ntag-prefix: y.\n",
			wantErr: `/p.d/x.yaml:1: name: "y" is not "x", the name the manifest's file gives it; rename one`,
		},
		{
			name: "file name that is no plugin name",
			file: "/p.d/my plugin.yaml", yml: "tag-prefix: y.\n",
			wantErr: `/p.d/my plugin.yaml:1: file name "my plugin" does not give a valid plugin name (up to 64 letters, digits, _ and -)`,
		},
		{
			name: "list instead of a mapping",
			file: "/p.d/x.yaml", yml: "- tag\n",
			wantErr: `/p.d/x.yaml:1: a list is not a plugin manifest (a mapping with path, capabilities, ...)`,
		},
		{
			name: "unknown key",
			file: "/p.d/x.yaml", yml: "tag-prefix: x.\ncapability: [tag]\n",
			wantErr: `/p.d/x.yaml:2: capability: unknown key (did you mean capabilities?)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePluginManifest([]byte(tt.yml), tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaultPlugin()
			want.File, want.Line = tt.file, 1
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}
