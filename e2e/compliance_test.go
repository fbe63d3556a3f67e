package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chromium finds the headless browser the page tests drive (Debian's
// chromium package), or says why there is none.
func chromium() (string, string) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, ""
		}
	}
	return "", "no chromium on PATH (apt-get install chromium)"
}

// TestCompliancePage loads the compliance page that paved-webhook serves on
// its admin port, with the audit on, in headless Chromium: over the reports
// the audit loop wrote for a namespace whose HPA lets its budget block
// evictions and whose Deployment has none of the defaults, and for a
// compliant namespace. It checks what a person sees (the rendered text, not
// the HTML): the totals, each namespace's counts, the checks, and the
// failing objects with the fix for each; and it saves a screenshot.
func TestCompliancePage(t *testing.T) {
	e := setup(t)
	e.needWebhook(t)
	browser, why := chromium()
	if browser == "" {
		t.Skip(why)
	}
	ctx := context.Background()
	reportClient := e.installReportCRD(t)
	bad := e.auditedNamespace(t, "e2e-page")
	good := e.auditedNamespace(t, "e2e-page-good")
	e.applyExample(t, "examples/broken/hpa-below-pdb.yaml", bad) // Deployment, PDB and HPA "payments"
	e.applyExample(t, "examples/good/orders.yaml", good)
	if _, err := e.admin.AppsV1().Deployments(bad).Create(ctx, bareDeployment("web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := e.auditWebhook(t, "compliance", sharedConfig)
	for _, ns := range []string{bad, good} {
		e.waitReportMatchesAudit(t, reportClient, ns, nil, 60*time.Second)
	}
	want := []reportsv1alpha1.Report{*getReport(t, reportClient, bad), *getReport(t, reportClient, good)}
	pageURL := "http://" + w.MetricsAddr + "/compliance"
	resp, err := http.Post(pageURL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: got %s; want 405, the page is read-only", pageURL, resp.Status)
	}

	actx, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1600))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first action starts the browser, which lives as long as bctx:
	// no timeout on it (the test's own deadline applies).
	if err := chromedp.Do(bctx, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#totals"))); err != nil {
		t.Fatalf("load the page in %s: %v", browser, err)
	}
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body"))) // innerText: what is rendered
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), "compliance.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	if len(shot) < 10_000 {
		t.Errorf("the screenshot is %d bytes: the page did not render", len(shot))
	}

	if title != "paved compliance" {
		t.Errorf("title: got %q", title)
	}
	if want[0].Summary.Fail == 0 {
		t.Fatalf("the report of %s has no failing result; the page has nothing to show", bad)
	}
	wantText := []string{
		"Namespaces", "Checks", "Objects to fix",
		"Deployment " + bad + "/web", "denied on the next deploy",
		"HorizontalPodAutoscaler " + bad + "/payments",
		"pdb-exceeds-hpa-min", "readiness-probe-missing",
		"the mutating webhook sets it on the next deploy",
	}
	// Every failing result's advice is shown next to its workload.
	for _, r := range want {
		for _, res := range r.Results {
			wantText = append(wantText, res.Description)
		}
	}
	for _, w := range wantText {
		if !strings.Contains(text, w) {
			t.Errorf("the page does not show %q", w)
		}
	}
	// Each namespace's row shows its counts, the failing one first, and
	// the totals add up the rows. (Other tests' namespaces, and their
	// reports, may still be on the shared control plane.)
	rows := strings.Split(text, "\n")
	badRow, goodRow := -1, -1
	fail, warn, inTable := 0, 0, false
	for i, l := range rows {
		f := strings.Split(l, "\t")
		if len(f) == 8 && f[0] == "namespace" {
			inTable = true
			continue
		}
		if !inTable || len(f) != 8 {
			inTable = inTable && len(f) == 8
			continue
		}
		name := strings.Fields(f[0])[0]
		nf, errF := strconv.Atoi(strings.TrimSpace(f[1]))
		nw, errW := strconv.Atoi(strings.TrimSpace(f[2]))
		if errF != nil || errW != nil {
			t.Errorf("namespace row %q: counts are not numbers", l)
			continue
		}
		fail, warn = fail+nf, warn+nw
		switch name {
		case bad:
			badRow = i
			if r := want[0]; nf != r.Summary.Fail || nw != r.Summary.Warn {
				t.Errorf("row of %s: got %q; want fail %d, warn %d", bad, l, r.Summary.Fail, r.Summary.Warn)
			}
		case good:
			goodRow = i
			if nf != 0 || nw != 0 {
				t.Errorf("row of %s: got %q; want no failures or warnings", good, l)
			}
		}
	}
	if badRow < 0 || goodRow < 0 || badRow > goodRow {
		t.Errorf("namespace rows: %s at %d, %s at %d; want both, the failing one first\n%s", bad, badRow, good, goodRow, text)
	}
	if totals := fmt.Sprintf("%d failing (denied on the next deploy), %d warnings", fail, warn); !strings.Contains(text, totals) {
		t.Errorf("the totals do not add up the namespace rows: want %q in\n%s", totals, text)
	}
	if strings.Contains(text, good+"/orders") {
		t.Errorf("the compliant Deployment is listed among the objects to fix")
	}
}
