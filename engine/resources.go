package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/internal/procgroup"
)

// resources closes what a call opened with the io library and did not close, when the call ends:
// files of io.open, io.lines and io.tmpfile, the file io.input or io.output switched to (io's
// defaults are put back), and the processes of io.popen. Without it, 200 io.popen left 200
// zombie processes for good, and files held their descriptors until a garbage collection.
//
// io.popen is msgscript's own: gopher-lua's gives no hold on the process. The command runs in a
// process group of its own, as in cmd.exec, and the script reads or writes a file on the pipe;
// closing it (f:close() or io.close(f)) waits for the command, until the call's deadline, and
// returns its exit status, as gopher-lua's does. At the end of the call a process still running
// is killed, with what it started, and reaped.
//
// What modules open (a tcp connection, for instance) they close through callctx.OnEnd.
type resources struct {
	L        *lua.LState
	open     lua.LGFunction // gopher-lua's io.open
	close    lua.LGFunction // gopher-lua's FILE*:close...
	closeFn  *lua.LFunction // ...as a function to call
	defaults *lua.LTable    // io's default output [1] and input [2], shared by io's functions
	stdout   lua.LValue
	stdin    lua.LValue
	stderr   lua.LValue

	files []*lua.LUserData            // opened by the call in progress
	procs map[*lua.LUserData]*process // io.popen's, by their file
}

type process struct {
	cmd    *exec.Cmd
	waited bool
	status int
}

// newResources takes the io library over; it runs when a state is made, after the preloaders (in
// a sandbox, io is gone and there is nothing to do).
func newResources(L *lua.LState) *resources {
	io, ok := L.GetGlobal("io").(*lua.LTable)
	if !ok {
		return nil
	}
	open, ok1 := io.RawGetString("open").(*lua.LFunction)
	write, ok2 := io.RawGetString("write").(*lua.LFunction)
	fileMeta, ok3 := L.GetTypeMetatable("FILE*").(*lua.LTable)
	if !ok1 || !ok2 || !ok3 || !open.IsG || len(write.Upvalues) == 0 {
		return nil
	}
	// The files' methods are in their metatable's __index (methodsOutOfReach).
	fileMethods := fileMeta
	if methods, ok := fileMeta.RawGetString("__index").(*lua.LTable); ok {
		fileMethods = methods
	}
	closeFile, ok := fileMethods.RawGetString("close").(*lua.LFunction)
	defaults, ok4 := write.Upvalues[0].Value().(*lua.LTable)
	if !ok || !closeFile.IsG || !ok4 {
		return nil
	}
	r := &resources{L: L, open: open.GFunction, close: closeFile.GFunction, defaults: defaults,
		stdout: defaults.RawGetInt(1), stdin: defaults.RawGetInt(2), procs: map[*lua.LUserData]*process{}}
	r.closeFn = L.NewFunction(r.close)
	r.stderr = io.RawGetString("stderr")

	r.track(io, "open", func(L *lua.LState) *lua.LUserData { ud, _ := L.Get(-1).(*lua.LUserData); return ud })
	r.track(io, "tmpfile", func(L *lua.LState) *lua.LUserData { ud, _ := L.Get(-1).(*lua.LUserData); return ud })
	r.track(io, "lines", func(L *lua.LState) *lua.LUserData {
		// io.lines(name) returns an iterator holding the file it opened.
		if it, ok := L.Get(-1).(*lua.LFunction); ok && L.GetTop() >= 1 && len(it.Upvalues) >= 2 {
			ud, _ := it.Upvalues[1].Value().(*lua.LUserData)
			return ud
		}
		return nil
	})
	io.RawSetString("popen", L.NewFunction(r.popen))
	fileMethods.RawSetString("close", L.NewFunction(r.closeFile))
	if ioClose, ok := io.RawGetString("close").(*lua.LFunction); ok && ioClose.IsG {
		base := ioClose.GFunction
		io.RawSetString("close", L.NewFunction(func(L *lua.LState) int {
			file := L.Get(1)
			if L.GetTop() == 0 {
				file = r.defaults.RawGetInt(1) // io.close() closes the default output
			}
			r.refuseStandard(L, file, "close")
			if ud, ok := file.(*lua.LUserData); ok && r.procs[ud] != nil {
				return r.closeFile(L)
			}
			return base(L)
		}))
	}
	if setvbuf, ok := fileMethods.RawGetString("setvbuf").(*lua.LFunction); ok && setvbuf.IsG {
		base := setvbuf.GFunction
		fileMethods.RawSetString("setvbuf", L.NewFunction(func(L *lua.LState) int {
			r.refuseStandard(L, L.Get(1), "setvbuf")
			if size := L.OptInt64(3, 0); size > maxFileBuffer || size < 0 {
				L.ArgError(3, fmt.Sprintf("a buffer of 0 to %d bytes", maxFileBuffer))
			}
			return base(L)
		}))
	}
	return r
}

// maxFileBuffer bounds FILE*:setvbuf's size, which gopher-lua allocated at once (1 TB ended the
// process).
const maxFileBuffer = 1 << 20

// refuseStandard raises an error for a close or setvbuf of the server's standard input, output or
// error: they are every call's and the process's own, and a call closed its log (fd 2) or held
// every later call's output in a buffer it never flushed.
func (r *resources) refuseStandard(L *lua.LState, file lua.LValue, what string) {
	if file == r.stdout || file == r.stdin || file == r.stderr {
		L.RaiseError("io: %s of the server's standard input, output or error is not allowed", what)
	}
}

// track has io.name record the file it returns.
func (r *resources) track(io *lua.LTable, name string, file func(*lua.LState) *lua.LUserData) {
	fn, ok := io.RawGetString(name).(*lua.LFunction)
	if !ok || !fn.IsG {
		return
	}
	base := fn.GFunction
	io.RawSetString(name, r.L.NewFunction(func(L *lua.LState) int {
		n := base(L)
		if n > 0 {
			if ud := file(L); ud != nil {
				r.files = append(r.files, ud)
			}
		}
		return n
	}))
}

// popen is io.popen(command[, mode]): the command in a shell, its output ("r", the default) or
// its input ("w") on the file returned.
func (r *resources) popen(L *lua.LState) int {
	command, mode := L.CheckString(1), L.OptString(2, "r")
	if mode != "r" && mode != "w" {
		L.ArgError(2, "invalid option '"+mode+"'")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return failed(L, err)
	}
	c := exec.Command("/bin/sh", "-c", command)
	procgroup.Set(c)
	ours, theirs := pr, pw
	if mode == "r" {
		c.Stdout = pw
	} else {
		c.Stdin, ours, theirs = pr, pw, pr
	}
	err = c.Start()
	theirs.Close()
	if err != nil {
		ours.Close()
		return failed(L, err)
	}
	if ctx := L.Context(); ctx != nil {
		// A read or write on the pipe blocks in Go, deaf to the deadline: when the call ends
		// early the command goes, with what it started, and the pipe returns.
		context.AfterFunc(ctx, func() { _ = procgroup.Kill(c) })
	}
	// The script gets a file of gopher-lua's on its own descriptor of the pipe, so that every
	// file method works on it.
	L.SetTop(0)
	L.Push(lua.LString(fmt.Sprintf("/dev/fd/%d", ours.Fd())))
	L.Push(lua.LString(mode))
	n := r.open(L)
	ours.Close()
	ud, ok := L.Get(-n).(*lua.LUserData)
	if !ok {
		_ = procgroup.Kill(c)
		go c.Wait()
		return n // nil, the error
	}
	r.procs[ud] = &process{cmd: c}
	r.files = append(r.files, ud)
	L.SetTop(0)
	L.Push(ud)
	return 1
}

// closeFile is FILE*:close: for a file of io.popen, once the pipe is closed it waits for the
// command (until the call's deadline, when the command is killed) and returns its exit status.
func (r *resources) closeFile(L *lua.LState) int {
	r.refuseStandard(L, L.Get(1), "close")
	ud, _ := L.Get(1).(*lua.LUserData)
	p := r.procs[ud]
	if p == nil {
		return r.close(L)
	}
	top := L.GetTop()
	if n := r.close(L); L.Get(top+1) == lua.LNil {
		return n // already closed, or failed
	}
	L.SetTop(top)
	p.wait(L.Context())
	L.Push(lua.LNumber(p.status))
	return 1
}

// wait waits for the process, and ends it when ctx ends first.
func (p *process) wait(ctx context.Context) {
	if p.waited {
		return
	}
	if ctx == nil {
		ctx = context.Background()
	}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-done:
		default:
			_ = procgroup.Kill(p.cmd)
		}
	})
	err := p.cmd.Wait()
	close(done)
	stop()
	p.waited = true
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok {
			p.status = ws.ExitStatus()
		}
	}
}

// end closes what the call left open and puts io's defaults back. It runs after every call, on
// the goroutine that ran it, and costs nothing when the call opened nothing.
func (r *resources) end() {
	if r == nil {
		return
	}
	if out := r.defaults.RawGetInt(1); out != r.stdout {
		r.closeQuietly(out)
		r.defaults.RawSetInt(1, r.stdout)
	}
	if in := r.defaults.RawGetInt(2); in != r.stdin {
		r.closeQuietly(in)
		r.defaults.RawSetInt(2, r.stdin)
	}
	for i, ud := range r.files {
		if p := r.procs[ud]; p != nil {
			if !p.waited {
				_ = procgroup.Kill(p.cmd)
				go p.cmd.Wait() // reaped, whatever it was doing
			}
			delete(r.procs, ud)
		}
		r.closeQuietly(ud)
		r.files[i] = nil
	}
	r.files = r.files[:0]
}

// closeQuietly closes a file with gopher-lua's close, whatever its state.
func (r *resources) closeQuietly(v lua.LValue) {
	ud, ok := v.(*lua.LUserData)
	if !ok || ud == r.stdout || ud == r.stdin {
		return
	}
	_ = r.L.CallByParam(lua.P{Fn: r.closeFn, NRet: 1, Protect: true}, ud)
	r.L.SetTop(0)
}

// failed is the io library's answer to an error: nil, message.
func failed(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}
