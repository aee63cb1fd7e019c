package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/qscale/qscale/autoscale/policy"
)

// maxNodes bounds the nodes one decode visits, aliases expanded, so that a
// file of nested aliases ("billion laughs") is an error, not an outage.
const maxNodes = 1 << 20

// Decode reads a YAML document (or JSON, which YAML reads as it is) into v,
// a pointer to a struct whose fields carry yaml tags. It is the one decoder
// of qscale's configuration: every problem is reported, each as a
// *policy.FieldError naming the field's path ("fleets[0].ecs.statusPort:
// want a whole number, got \"http\""); keys that name no field are refused
// with their path and the known keys. An empty document leaves v as it is.
func Decode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("config: Decode needs a non-nil pointer")
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("not YAML or JSON: %w", err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		return errors.New("one document expected; the file holds more (a second \"---\")")
	}
	if len(root.Content) == 0 {
		return nil
	}
	d := &decoder{}
	d.value(root.Content[0], rv.Elem(), "")
	return errors.Join(d.errs...)
}

// nodeDecoder is implemented by the configuration's types that take more
// than one shape (a queue given by name or as a mapping, a list or a map of
// environment variables).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// hinter is implemented by structs that know where a key of an older
// layout went; the hint follows the unknown-field error.
type hinter interface {
	hint(key string) string
}

type decoder struct {
	errs  []error
	nodes int
}

func (d *decoder) fail(path, format string, a ...any) {
	if path == "" {
		path = "(top level)"
	}
	d.errs = append(d.errs, &policy.FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// value decodes n into v (settable), reporting problems under path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if d.nodes++; d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.fail(path, "the document is too large once its aliases are expanded")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.value(n.Alias, v, path)
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	null := n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
	if v.Kind() == reflect.Pointer {
		if null && v.Type().Elem().Kind() != reflect.Struct {
			v.SetZero()
			return
		}
		// A null section of structs ("memory:") is present with its
		// defaults.
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if null {
			return
		}
		d.value(n, v.Elem(), path)
		return
	}
	if null {
		v.SetZero()
		return
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode {
			d.fail(path, "want a single value, got %s", describe(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			d.value(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		d.mapValue(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(path, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, "want a string, got %s", describe(n))
			return
		}
		// Numbers and booleans read as their text: [--concurrency, 4].
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || err != nil {
			d.fail(path, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := wholeNumber(n)
		if !ok || v.OverflowInt(i) {
			d.fail(path, "want a whole number, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := wholeNumber(n)
		if !ok || i < 0 || v.OverflowUint(uint64(i)) {
			d.fail(path, "want a whole number of 0 or more, got %s", describe(n))
			return
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		tag := n.ShortTag()
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(path, "want a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.fail(path, "cannot hold a value (a %s field)", v.Type())
	}
}

// wholeNumber reads an integer scalar, or a float one with no fraction
// (JSON writers put 3.0 for 3).
func wholeNumber(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return 0, false
		}
		return i, true
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "want a mapping of keys to values, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			d.fail(path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		if seen[key] {
			d.fail(join(path, key), "given twice")
			continue
		}
		seen[key] = true
		idx, ok := fields.index[key]
		if !ok {
			msg := "unknown field (known: " + strings.Join(fields.names, ", ") + ")"
			if h, isH := v.Addr().Interface().(hinter); isH {
				if s := h.hint(key); s != "" {
					msg = "unknown field: " + s
				}
			}
			d.fail(join(path, key), "%s", msg)
			continue
		}
		d.value(val, v.Field(idx), join(path, key))
	}
}

func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "want a mapping of names to values, got %s", describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(path, "cannot hold a value (a %s field)", v.Type())
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		key := reflect.New(v.Type().Key()).Elem()
		key.SetString(k.Value)
		if m.MapIndex(key).IsValid() {
			d.fail(join(path, k.Value), "given twice")
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(val, e, join(path, k.Value))
		m.SetMapIndex(key, e)
	}
	v.Set(m)
}

type structFields struct {
	index map[string]int // yaml name -> field index
	names []string       // sorted, for messages
}

func fieldsOf(t reflect.Type) structFields {
	fs := structFields{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.index[name] = i
		fs.names = append(fs.names, name)
	}
	sort.Strings(fs.names)
	return fs
}

// describe names a node for an error message: a scalar's value, quoted
// when the file quoted it or it is a string, or the kind of a collection.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return describe(n.Alias)
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 60 {
			v = v[:60] + "..."
		}
		if n.ShortTag() == "!!str" {
			return strconv.Quote(v)
		}
		return v
	}
	return "nothing"
}
