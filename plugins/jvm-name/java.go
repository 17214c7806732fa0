package main

import "strings"

// javaValueOptions are the java launcher options whose value is the next
// argument (java -help, JDK 8 to 21). -D, -X, -XX, -agent*, -javaagent and
// -verbose are single tokens.
var javaValueOptions = map[string]bool{
	"-cp": true, "-classpath": true, "--class-path": true,
	"-p": true, "--module-path": true, "--upgrade-module-path": true,
	"--add-modules": true, "--add-reads": true, "--add-exports": true,
	"--add-opens": true, "--limit-modules": true, "--patch-module": true,
	"--enable-native-access": true, "--source": true,
}

// javaName names a JVM from its arguments (argv without argv[0]): the jar
// of -jar without ".jar", else the main class (the first argument that is
// not a launcher option; what follows belongs to the program), else the
// class of -m/--module module/class. full keeps the class's package.
func javaName(args []string, full bool) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-jar":
			if i+1 < len(args) {
				return strings.TrimSuffix(base(args[i+1]), ".jar")
			}
			return ""
		case a == "-m" || a == "--module":
			if i+1 < len(args) {
				return moduleClass(args[i+1], full)
			}
			return ""
		case strings.HasPrefix(a, "--module="):
			return moduleClass(strings.TrimPrefix(a, "--module="), full)
		case javaValueOptions[a]:
			i++
		case strings.HasPrefix(a, "-"):
			// -Dk=v, -Xmx1g, -XX:+UseG1GC, -javaagent:x.jar, --enable-preview, ...
		case strings.HasPrefix(a, "@"):
			// an @argfile: its content is not visible here
		default:
			return className(a, full)
		}
	}
	return ""
}

// moduleClass names `module/class` by its class; a bare module names itself.
func moduleClass(spec string, full bool) string {
	if i := strings.IndexByte(spec, '/'); i >= 0 {
		return className(spec[i+1:], full)
	}
	return spec
}

// className returns the simple name of a fully qualified class, or the
// name as given when full is set. A file name (a single-file source
// program, `java Main.java`) loses its extension.
func className(c string, full bool) string {
	c = strings.TrimSuffix(base(c), ".java")
	if full {
		return c
	}
	if i := strings.LastIndexByte(c, '.'); i >= 0 && i < len(c)-1 {
		return c[i+1:]
	}
	return c
}
