package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/httpmsg"
)

// devHTTPPort is devhttp's default port: the original's 7634 was one swap away from the server's
// 7643, so that a request meant for one reached the other.
const devHTTPPort = 7680

// devMaxBody bounds a request body, as the server's handler does by default.
const devMaxBody = 1 << 20

func newDevHTTPCmd(g *globals) *cobra.Command {
	var f devFlags
	var port int
	var host string
	cmd := &cobra.Command{
		Use:   "devhttp FILE [-l libs] [--port 7680]",
		Short: "Serve one script over HTTP the way the server's handler does, reloading it on every request",
		Long: "Serves FILE on http://127.0.0.1:7680/ (the original used 7634: --port 7634). A request to /<subject>/rest reaches the script as the\n" +
			"server's handler would send it (any other path is taken as the rest), with the same\n" +
			"statuses. FILE and its libraries are read again on every request, so an edit is live at\n" +
			"once; a script that does not compile answers 500 with file:line: message.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			log, closeModules, err := f.setup(g, false)
			if err != nil {
				return err
			}
			defer closeModules()
			path := a[0]
			if _, _, err := f.load(path, zap.NewNop()); err != nil {
				fmt.Fprintf(g.stderr, "msgscriptcli: %v (serving anyway: fix it and send the request again)\n", err)
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: devHandler(&f, path, log), ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(shutdown)
			}()
			fmt.Fprintf(g.stdout, "serving %s on http://%s/ (Ctrl-C to stop)\n", path, ln.Addr())
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f.register(cmd)
	g.registerPlugin(cmd)
	cmd.Flags().IntVar(&port, "port", devHTTPPort, "port to listen on")
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)")
	return cmd
}

// devHandler compiles the script afresh for every request and answers like the server's handler.
func devHandler(f *devFlags, path string, log *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg, sf, err := f.load(path, log)
		if err != nil {
			httpmsg.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		defer reg.Close()
		rest := r.URL.Path
		if subject, r2, err := httpmsg.SplitPath(r.URL.Path); err == nil && subject == sf.subject {
			rest = r2
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, devMaxBody))
		if err != nil {
			httpmsg.WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", devMaxBody))
			return
		}
		reply := reg.Answer(r.Context(), sf.subject, httpmsg.NewMsg(sf.subject, rest, r, body, nil))
		httpmsg.WriteReply(w, reply)
	})
}
