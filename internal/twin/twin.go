// Package twin is the reference the generated msgpack codecs are tested
// against (wire, actors/protocol): the reflection twin of a type, a struct
// built with reflect.StructOf from the type's own exported fields and tags
// (so it cannot drift from them) that has none of its methods, so msgpack
// encodes and decodes it by reflection.
package twin

import "reflect"

// Of returns t with every struct replaced by a method-less struct of the
// same exported fields and tags. Named scalar types stay: reflection treats
// them by kind, and keeping them keeps any method they might grow.
func Of(t reflect.Type) reflect.Type {
	switch t.Kind() {
	case reflect.Struct:
		var fs []reflect.StructField
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				fs = append(fs, reflect.StructField{Name: f.Name, Type: Of(f.Type), Tag: f.Tag})
			}
		}
		return reflect.StructOf(fs)
	case reflect.Slice:
		return reflect.SliceOf(Of(t.Elem()))
	case reflect.Map:
		return reflect.MapOf(Of(t.Key()), Of(t.Elem()))
	}
	return t
}

// Convert copies v into type to, a twin of v's type or the other way round.
func Convert(v reflect.Value, to reflect.Type) reflect.Value {
	switch to.Kind() {
	case reflect.Struct:
		out := reflect.New(to).Elem()
		for i := range to.NumField() {
			if f := to.Field(i); f.IsExported() {
				out.Field(i).Set(Convert(v.FieldByName(f.Name), f.Type))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(to)
		}
		out := reflect.MakeSlice(to, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(Convert(v.Index(i), to.Elem()))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(to)
		}
		out := reflect.MakeMapWithSize(to, v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(Convert(it.Key(), to.Key()), Convert(it.Value(), to.Elem()))
		}
		return out
	}
	return v.Convert(to)
}
