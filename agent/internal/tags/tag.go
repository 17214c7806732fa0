package tags

// Tag is one key/value pair given to a process by the tag exec command (or,
// later in the pipeline, by a plugin). Keys are unique per process.
type Tag struct {
	Key   string `yaml:"key" json:"key"`
	Value string `yaml:"value" json:"value"`
}
