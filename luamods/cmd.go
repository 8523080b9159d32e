package luamods

import (
	"context"
	"errors"
	"os/exec"
	"time"

	luacmd "github.com/vadv/gopher-lua-libs/cmd"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/internal/procgroup"
)

// cmdLoader is gopher-lua-libs' cmd module, with an exec that also ends with the call's deadline
// (the library's own only knows its timeout argument):
//
//	result, err = cmd.exec(command[, timeout_seconds])  -- {status, stdout, stderr}
func cmdLoader(L *lua.LState) int {
	luacmd.Loader(L)
	L.Get(-1).(*lua.LTable).RawSetString("exec", L.NewFunction(cmdExec))
	return 1
}

func cmdExec(L *lua.LState) int {
	command := L.CheckString(1)
	timeout := time.Duration(L.OptInt64(2, luacmd.Timeout)) * time.Second
	ctx, cancel := context.WithTimeout(callContext(L), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", command)
	procgroup.Set(c) // ended as a whole: the shell's children would otherwise live on
	c.Cancel = func() error { return procgroup.Kill(c) }
	c.WaitDelay = 100 * time.Millisecond // then stop waiting for output a child still holds
	// Each output is bounded (`yes` filled memory until the guard ended every call): past the
	// bound the command is ended and exec fails.
	stdout, stderr := newBoundedText(L, "cmd.exec: the output"), newBoundedText(L, "cmd.exec: the error output")
	defer stdout.release()
	defer stderr.release()
	stdout.onStop, stderr.onStop = cancel, cancel
	c.Stdout, c.Stderr = stdout, stderr
	err := c.Run()
	for _, out := range []*boundedText{stdout, stderr} {
		if out.stopped != nil {
			return fail(L, out.stopped)
		}
	}
	if ctx.Err() != nil {
		return fail(L, errors.New("execute timeout"))
	}
	status := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
	case err != nil:
		return fail(L, err)
	}
	t := L.CreateTable(0, 3)
	t.RawSetString("status", lua.LNumber(status))
	t.RawSetString("stdout", lua.LString(stdout.String()))
	t.RawSetString("stderr", lua.LString(stderr.String()))
	L.Push(t)
	return 1
}
