package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/engine"
)

func newStatusCmd(g *globals) *cobra.Command {
	admin := envOr("CADDY_ADMIN", "localhost:2019")
	cmd := &cobra.Command{
		Use:   "status [--admin localhost:2019]",
		Short: "Show what a running msgscript serves: each script's version, calls, errors and last error",
		Long: "Asks the admin API of a running msgscript (Caddy's admin endpoint, CADDY_ADMIN or\n" +
			"localhost:2019) for its scripts and prints them: the version serving, the stored version\n" +
			"that did not compile and why, and the calls since it started.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			base := admin
			if !strings.Contains(base, "://") {
				base = "http://" + base
			}
			client := &http.Client{Timeout: g.timeout}
			var inst engine.Instance
			if err := getJSON(client, base+"/msgscript/instance", &inst); err != nil {
				return err
			}
			var scripts []engine.ScriptStatus
			if err := getJSON(client, base+"/msgscript/scripts", &scripts); err != nil {
				return err
			}
			printStatus(g.stdout, inst, scripts)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", admin, "the admin endpoint of the msgscript to ask (env CADDY_ADMIN)")
	return cmd
}

func getJSON(client *http.Client, url string, v any) error {
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("%v; is msgscript running with its admin endpoint there (--admin, env CADDY_ADMIN)?", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, v)
}

func printStatus(out io.Writer, inst engine.Instance, scripts []engine.ScriptStatus) {
	fmt.Fprintf(out, "msgscript %s (service %s, instance %s) on %s, memory limit %s\n\n",
		inst.Version, inst.Service, inst.ID, inst.NATS, humanize.IBytes(inst.MemoryLimit))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SUBJECT\tNAME\tVERSION\tCALLS\tERRORS\tTIMEOUTS\tAVERAGE\tLAST ERROR")
	for _, s := range scripts {
		version := s.Version
		if version == "" {
			version = "none"
		}
		avg := "-"
		if s.Calls.Total > s.Calls.Refused {
			avg = s.Calls.Average.Round(time.Microsecond).String()
		}
		last := ""
		if s.Calls.LastError != nil {
			last = oneLine(s.Calls.LastError.Msg) + " (" + humanize.Time(s.Calls.LastError.At) + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Subject, s.Name, version, s.Calls.Total, s.Calls.Errors, s.Calls.Timeouts, avg, last)
	}
	_ = w.Flush()
	for _, s := range scripts {
		if tr := s.Trigger; tr != nil {
			what := fmt.Sprintf("cron %s, %d ticks run here", tr.Cron, tr.Ticks)
			if tr.Stream != "" {
				what = fmt.Sprintf("stream %s (consumer %s), %d acked, %d retried, %d dead-lettered", tr.Stream, tr.Consumer, tr.Acked, tr.Retried, tr.Dead)
			}
			if !tr.Running {
				what += "; NOT RUNNING: " + oneLine(tr.Error)
			}
			fmt.Fprintf(out, "\n%s/%s: %s\n", s.Subject, s.Name, what)
		}
	}
	for _, s := range scripts {
		if s.NotServed != "" {
			fmt.Fprintf(out, "\n%s/%s: %s\n", s.Subject, s.Name, oneLine(s.NotServed))
		}
		if s.Error != "" {
			fmt.Fprintf(out, "\n%s/%s: stored version %s does not compile, %s: %s\n", s.Subject, s.Name, s.Stored,
				map[bool]string{true: "version " + s.Version + " keeps serving", false: "nothing serves"}[s.Version != ""], oneLine(s.Error))
		}
	}
}

// oneLine keeps a message on one line of a table.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
