package wire

// Reads: a client asks a participant for keys (GetReq) or for the keys
// under a prefix in order, a page at a time (ScanReq). A reply always fits
// in a frame: a page holds at most MaxReadPage entries and about
// MaxReadPageBytes of keys and values (limits.go), and the client asks
// again for the rest (transport.Client.Get and Scan follow the pages).

// GetReq asks a participant for the values of Keys. Only a client sends it.
//
//txd:codec decode
type GetReq struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	Keys     []string `txd:"max=MaxReadPage,what=keys"`
}

// GetEntry is one key of a GetResult: its value when Found.
//
//txd:codec encode decode
type GetEntry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Key      string
	Value    string
	Found    bool
}

// GetResult answers GetReq: Entries answer the request's first
// len(Entries) keys, in its order (at least one, unless it asked for none).
// Fewer than it asked for means the page was full: the client asks again
// for the others.
//
//txd:codec encode decode
type GetResult struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	Entries  []GetEntry `txd:"max=MaxReadPage,what=entries"`
}

// ScanReq asks a participant for its keys that start with Prefix and sort
// after After (all of them when After is ""), in byte order, at most Limit
// (0: as many as a page holds). Only a client sends it.
//
//txd:codec encode decode
type ScanReq struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	Prefix   string
	After    string
	Limit    uint64
}

// Entry is one key and its value.
//
//txd:codec encode decode
type Entry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Key      string
	Value    string
}

// ScanResult answers ScanReq: the next keys in order. More says keys under
// the prefix remain after the last entry: ask again with After set to it.
//
//txd:codec encode decode
type ScanResult struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	Entries  []Entry `txd:"max=MaxReadPage,what=entries"`
	More     bool
}

func (*GetReq) Type() Type     { return TypeGetReq }
func (*GetResult) Type() Type  { return TypeGetResult }
func (*ScanReq) Type() Type    { return TypeScanReq }
func (*ScanResult) Type() Type { return TypeScanResult }
