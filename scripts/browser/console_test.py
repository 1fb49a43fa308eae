#!/usr/bin/env python3
"""The console in a real browser: Selenium drives Debian's chromium through chromium-driver
against a running `triage dev` (scripts/test-console-browser.sh starts it).

A lead and two agents sign in; agent-1 (team tier-1, away, so nothing is pushed to them) takes
the next incident of the queue, acknowledges it and sees its first-response clock stop, gives it
back to the queue, takes it again and closes it; the lead's pages are checked against the topics
(read with `triage tail`), and its back-test of a policy with shorter targets against `triage sla
backtest`; agent-2 (team tier-2) gets 403 on agent-1's incident and its actions
publish nothing. A screenshot of each page is kept in --artifacts.

Exit status 0 when every check held; otherwise the failed check is printed and it exits 1.
"""

import argparse
from http.cookiejar import CookieJar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ARGS = None
CHECKS = []


def check(condition, what):
    """Records a check; a failed one ends the test with its description."""
    CHECKS.append(what)
    if not condition:
        raise AssertionError(what)
    print(f"  ok  {what}", flush=True)


def browser(width=1280, height=900):
    options = webdriver.ChromeOptions()
    options.binary_location = ARGS.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", "--disable-extensions", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(ARGS.chromedriver), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait(driver, what, condition, timeout=45):
    def safe(d):
        try:
            return condition(d)
        except (StaleElementReferenceException, WebDriverException):
            return False
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(safe)
    except Exception:
        shot(driver, "failed-" + re.sub(r"[^a-z0-9]+", "-", what.lower())[:40])
        raise AssertionError(f"timed out after {timeout} s waiting for: {what} (page {driver.current_url})")


def shot(driver, name):
    os.makedirs(ARGS.artifacts, exist_ok=True)
    path = os.path.join(ARGS.artifacts, name + ".png")
    driver.save_screenshot(path)
    return path


def page(driver, path):
    driver.get(ARGS.console.rstrip("/") + path)


def sign_in(driver, username, password):
    page(driver, "/signin")
    driver.find_element(By.ID, "username").clear()
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "signin-submit").click()


def sign_out(driver):
    driver.find_element(By.ID, "sign-out").click()
    wait(driver, "the sign-in page after signing out", lambda d: d.find_elements(By.ID, "signin-form"))


def flash(driver):
    found = driver.find_elements(By.ID, "flash")
    return (found[0].get_attribute("data-outcome"), found[0].text) if found else (None, "")


def submit(driver, form_id, fields=None):
    form = driver.find_element(By.ID, form_id)
    for name, value in (fields or {}).items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def answer(driver, form_id, what, fields=None):
    """Submits the form and waits for the page that answers it (its flash): a refresh before
    that page came could cancel the POST, and the action would never reach the intake (a CI
    run's acknowledgement did not). Checks the action was accepted."""
    submit(driver, form_id, fields)
    outcome, text = wait(driver, f"the answer to {what}", lambda d: flash(d)[0] and flash(d))
    check(outcome == "done", f"{what} is accepted ({text})")


def tail(topic, incident):
    """The incident's records on `topic`, as `triage tail` prints them."""
    result = subprocess.run(
        [ARGS.triage, "tail", topic, "--from-beginning", "--incident", incident, "--bootstrap", ARGS.bootstrap,
         "--log-level", "error"],
        capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"triage tail {topic} failed: {result.stderr[-500:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def events(incident):
    return tail("triage.incident-events", incident)


def kind(event):
    for key in ("opened", "assigned", "reassigned", "acknowledged", "returnedToQueue", "reassignRequested",
                "closedResolved", "noteAdded", "escalated", "slaWarning", "waitingOnCustomer"):
        if key in event:
            return key
    return "other"


def incident_view(driver):
    element = driver.find_element(By.ID, "incident")
    return {name: element.get_attribute("data-" + name) for name in ("incident-id", "status", "agent", "team", "clock-state")}


def first_response_clock(driver):
    rows = [row for row in driver.find_elements(By.CSS_SELECTOR, "#clocks tr[data-clock]")
            if "first" in (row.get_attribute("data-clock") or "")]
    return rows[0].get_attribute("data-clock-state") if rows else None


def raw_request(method, path, cookies, data=None):
    """A raw request with the browser's session cookie: the status code is the point."""
    url = ARGS.console.rstrip("/") + path
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Cookie", "; ".join(f"{c['name']}={c['value']}" for c in cookies))
    request.add_header("Origin", ARGS.console.rstrip("/"))
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def lead_views_queues_and_agents(driver):
    print("lead: sign-in, queues, agents", flush=True)
    sign_in(driver, "lead", "not-the-password")
    wait(driver, "the sign-in error", lambda d: d.find_elements(By.ID, "signin-error"))
    check("/signin" in driver.current_url and not driver.find_elements(By.ID, "signed-in-as"),
          "a wrong password does not sign the lead in")
    sign_in(driver, "lead", ARGS.password)
    who = wait(driver, "signed in as lead", lambda d: d.find_element(By.ID, "signed-in-as"))
    check(who.get_attribute("data-role") == "lead", "the lead is signed in with role lead")
    session = [c for c in driver.get_cookies() if c["name"] == "triage_console"]
    check(session and session[0].get("httpOnly") and session[0].get("secure") and session[0].get("sameSite") == "Strict",
          "the session cookie is HttpOnly, Secure and SameSite=Strict")
    page(driver, "/queues")
    depth = wait(driver, "tier-1's queue holds incidents",
                 lambda d: int(d.find_element(By.ID, "queue-depth-tier-1").get_attribute("data-queue-depth") or 0) >= 2
                 and d.find_element(By.ID, "queue-depth-tier-1"))
    check(int(depth.get_attribute("data-queue-depth")) >= 2, "the queues page shows tier-1's queue depth")
    check(driver.find_elements(By.ID, "queue-tier-2"), "the lead sees every team (tier-2 too)")
    shot(driver, "queues")
    # A page rendered for other teams than there are now (opened before the router published
    # a desk, it said "No team desk is known yet" for good) renders itself again.
    driver.execute_script("window.triageStale = true; document.getElementById('queue-teams').textContent = '[\"tier-0\"]';")
    wait(driver, "the queues page reloads for the teams there are now",
         lambda d: d.execute_script("return window.triageStale === undefined")
         and d.find_element(By.ID, "queue-teams").get_attribute("textContent") == '["tier-1","tier-2"]', timeout=20)
    check(driver.find_elements(By.ID, "queue-depth-tier-1"), "the reloaded queues page shows the teams' rows")
    page(driver, "/agents")
    wait(driver, "the agents table", lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-agent-id='agent-1']"))
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-agent-id='agent-1']")
    check(row.get_attribute("data-presence") == "away", "agent-1 starts away (the roster says so)")
    weights = driver.find_element(By.ID, "severity-weights")
    check((weights.get_attribute("data-a"), weights.get_attribute("data-b"), weights.get_attribute("data-c")) == ("3", "2", "1"),
          "the agents page explains the severity weights A 3, B 2, C 1")
    shot(driver, "agents")
    page(driver, "/incidents")
    wait(driver, "the incident list", lambda d: d.find_elements(By.CSS_SELECTOR, "table#incidents tr[data-incident-id]"))
    shot(driver, "incidents")
    # The report page against the command line, over the same window of the same topic.
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    time.sleep(3)  # the analytics feed folds what was opened before `now`
    page(driver, f"/reports?from={today}&to={urllib.parse.quote(now)}&by=team")
    total = wait(driver, "the SLA report", lambda d: d.find_element(By.ID, "report-total"))
    opened = int(total.get_attribute("data-opened"))
    result = subprocess.run(
        [ARGS.triage, "report", "sla", "--from", today, "--to", now, "--by", "team", "--format", "json", "--scan-from", "beginning",
         "--bootstrap", ARGS.bootstrap, "--log-level", "error"], capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"triage report sla runs ({result.stderr[-300:]})")
    cli = json.loads(result.stdout)
    check(opened >= 2 and cli["total"]["opened"] == opened,
          f"the report page's total ({opened} opened) is what triage report sla computes ({cli['total']['opened']})")
    rows = {row.get_attribute("data-group"): int(row.get_attribute("data-opened"))
            for row in driver.find_elements(By.CSS_SELECTOR, "#sla-report tr[data-group]") if row.get_attribute("data-group")}
    check(rows == {row["group"]: row["opened"] for row in cli["rows"]}, f"and so are its rows per team ({rows})")
    shot(driver, "reports")
    sign_out(driver)


SHORTER_TARGETS = """# A candidate with one-minute first responses: every incident's deadline moves.
targets:
  business_hours:
    A: { first_response: 1m }
    B: { first_response: 1m }
    C: { first_response: 1m }
  24x7:
    A: { first_response: 1m }
    B: { first_response: 1m }
    C: { first_response: 1m }
"""


def lead_back_tests_a_policy(driver):
    print("lead: back-test a policy with shorter targets", flush=True)
    sign_in(driver, "lead", ARGS.password)
    wait(driver, "signed in as lead", lambda d: d.find_element(By.ID, "signed-in-as").get_attribute("data-role") == "lead")
    page(driver, "/reports")
    wait(driver, "the back-test link", lambda d: d.find_element(By.ID, "backtest-link")).click()
    wait(driver, "the back-test form", lambda d: d.find_element(By.ID, "backtest-form"))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    os.makedirs(ARGS.artifacts, exist_ok=True)
    policy = os.path.abspath(os.path.join(ARGS.artifacts, "shorter-targets.yaml"))
    with open(policy, "w") as file:
        file.write(SHORTER_TARGETS)
    # Against the built-in defaults, what `triage sla backtest` compares with without --baseline.
    driver.find_element(By.ID, "baseline-defaults").click()
    driver.find_element(By.ID, "candidate-upload").click()
    driver.find_element(By.ID, "backtest-file").send_keys(policy)
    shot(driver, "backtest-form")
    submit(driver, "backtest-form", {"from": today, "to": now, "by": "team"})
    total = wait(driver, "the back-test result", lambda d: d.find_element(By.ID, "backtest-total"), timeout=120)
    check(driver.find_element(By.ID, "backtest-candidate-name").text == "shorter-targets.yaml",
          "the back-test ran the uploaded policy")
    figures = {name: int(total.get_attribute("data-" + name)) for name in
               ("incidents", "baseline-breached", "candidate-breached", "changed", "deadline-moved")}
    changed = driver.find_elements(By.CSS_SELECTOR, "#backtest-changed tr[data-incident-id]")
    check(figures["incidents"] >= 2 and changed, f"the page shows the table and changed incidents ({figures}, {len(changed)} listed)")
    link = changed[0].find_element(By.CSS_SELECTOR, "a").get_attribute("href")
    check(link.endswith("/incidents/" + changed[0].get_attribute("data-incident-id")), "a changed incident links to its page")
    shot(driver, "backtest")
    result = subprocess.run(
        [ARGS.triage, "sla", "backtest", "--policy", policy, "--from", today, "--to", now, "--by", "team", "--format", "json",
         "--scan-from", "beginning", "--bootstrap", ARGS.bootstrap, "--log-level", "error"],
        capture_output=True, text=True, timeout=300)
    check(result.returncode == 0, f"triage sla backtest runs ({result.stderr[-300:]})")
    cli = json.loads(result.stdout)["total"]
    expected = {"incidents": cli["baseline"]["incidents"], "baseline-breached": cli["baseline"]["first_responses_breached"],
                "candidate-breached": cli["candidate"]["first_responses_breached"], "changed": cli["changed"],
                "deadline-moved": cli["deadline_moved"]}
    check(figures == expected, f"the back-test page's total {figures} is what triage sla backtest computes {expected}")
    sign_out(driver)


def agent_takes_acknowledges_returns_and_closes(driver):
    print("agent-1: take next, acknowledge, give back, take again, close", flush=True)
    sign_in(driver, "agent-1", ARGS.password)
    wait(driver, "signed in as agent-1", lambda d: d.find_element(By.ID, "signed-in-as").get_attribute("data-role") == "agent")
    page(driver, "/queues")
    check(not driver.find_elements(By.ID, "queue-tier-2"), "an agent sees only their team's queue")
    wait(driver, "something waits in tier-1",
         lambda d: int(d.find_element(By.ID, "queue-depth-tier-1").get_attribute("data-queue-depth") or 0) >= 1)
    submit(driver, "take-next-tier-1")
    outcome, text = wait(driver, "the take-next answer", lambda d: flash(d)[0] and flash(d))
    check(outcome == "done", f"take next is accepted ({text})")
    taken = re.search(r"Asked to take (\S+) ", text)
    check(taken is not None, "the answer names the incident taken")
    incident = taken.group(1)
    page(driver, f"/incidents/{incident}")
    def held_by_me(d):
        d.refresh()
        return incident_view(d)["agent"] == "agent-1"
    wait(driver, f"{incident} assigned to agent-1", held_by_me)
    check(driver.find_elements(By.CSS_SELECTOR, "#routing li[data-cause='taken']"), "the routing decision says 'taken'")
    before = first_response_clock(driver)
    check(before in ("running", "at_risk", "breached"), f"the first-response clock runs before the acknowledgement ({before})")
    shot(driver, "incident-taken")

    answer(driver, "action-acknowledge", "the acknowledgement")
    def acknowledged(d):
        d.refresh()
        return incident_view(d)["status"] == "acknowledged" and first_response_clock(d) == "stopped"
    wait(driver, "the acknowledgement stops the first-response clock", acknowledged)
    check(True, f"{incident}: acknowledged, first-response clock stopped")
    shot(driver, "incident-acknowledged")

    answer(driver, "action-reassign", "the give-back", {"to": "queue", "note": "back to the pool"})
    def back_in_queue(d):
        d.refresh()
        return incident_view(d)["agent"] in ("", None)
    wait(driver, f"{incident} back in the queue", back_in_queue)
    check(True, f"{incident}: given back to the queue")

    # Take it again (it is first in the queue only if nothing older waits: take next until it is ours).
    for _ in range(10):
        page(driver, "/queues")
        submit(driver, "take-next-tier-1")
        _, text = wait(driver, "the take-next answer", lambda d: flash(d)[0] and flash(d))
        again = re.search(r"Asked to take (\S+) ", text)
        if again and again.group(1) == incident:
            break
        time.sleep(1)
    page(driver, f"/incidents/{incident}")
    wait(driver, f"{incident} held by agent-1 again", held_by_me)
    answer(driver, "action-close-resolved", "the close")
    def closed(d):
        d.refresh()
        return incident_view(d)["status"] == "closed_resolved"
    wait(driver, f"{incident} closed", closed)
    check(True, f"{incident}: closed resolved")
    shot(driver, "incident-closed")

    # The page against the topics.
    history = events(incident)
    kinds = [kind(e) for e in history]
    mine = [e for e in history if e.get("actor") == "agent-1"]
    check(any(kind(e) == "assigned" and e["assigned"].get("agentId") == "agent-1"
              and e["assigned"].get("reason", {}).get("cause") == "taken" for e in history),
          "the lifecycle topic holds the Assigned to agent-1 with cause taken")
    check(any(kind(e) == "acknowledged" for e in mine), "the Acknowledged carries the actor agent-1")
    check(any(kind(e) == "reassignRequested" and e["reassignRequested"].get("toQueue") for e in mine),
          "the give-back is a ReassignRequested to the queue by agent-1")
    check(any(kind(e) == "closedResolved" for e in mine), "the close carries the actor agent-1")
    check(kinds.count("closedResolved") == 1 and kinds.count("acknowledged") == 1, "each action was published once")
    snapshots = tail("triage.incident-state", incident)
    check(snapshots and snapshots[-1].get("value", {}).get("status") == "closed_resolved",
          "the incident-state topic agrees with the page: closed_resolved")

    # A phone: nothing scrolls sideways.
    driver.set_window_size(390, 844)
    for path in ("/queues", "/incidents", f"/incidents/{incident}"):
        page(driver, path)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        check(width <= 392, f"{path} fits a 390 px phone (scroll width {width})")
    shot(driver, "incident-phone")
    page(driver, "/queues")
    shot(driver, "queues-phone")
    driver.set_window_size(1280, 900)
    sign_out(driver)
    return incident


def other_team_is_refused(driver, incident):
    print("agent-2 (tier-2): another team's incident", flush=True)
    sign_in(driver, "agent-2", ARGS.password)
    wait(driver, "signed in as agent-2", lambda d: d.find_element(By.ID, "signed-in-as").get_attribute("data-username") == "agent-2")
    page(driver, "/agents")
    csrf = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
    cookies = driver.get_cookies()
    count = len(events(incident))
    status, _ = raw_request("GET", f"/incidents/{incident}", cookies)
    check(status == 403, f"agent-2 gets 403 on tier-1's {incident} (got {status})")
    for action, fields in (("note", {"text": "sneaky"}), ("acknowledge", {}), ("close-resolved", {})):
        status, _ = raw_request("POST", f"/incidents/{incident}/actions/{action}", cookies,
                         {"csrf": csrf, "nonce": f"n-{action}", **fields})
        check(status in (403, 404), f"agent-2's {action} on {incident} is refused (got {status})")
    status, _ = raw_request("POST", "/queues/tier-1/take", cookies, {"csrf": csrf, "nonce": "n-take"})
    check(status == 403, f"agent-2 cannot take tier-1's work (got {status})")
    time.sleep(3)
    check(len(events(incident)) == count, "nothing was published for the refused actions")
    page(driver, f"/incidents/{incident}")
    shot(driver, "forbidden")
    sign_out(driver)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--console", required=True, help="the console's URL, e.g. http://127.0.0.1:8090")
    parser.add_argument("--bootstrap", required=True, help="the broker of triage dev")
    parser.add_argument("--password", required=True, help="the demo accounts' password triage dev printed")
    parser.add_argument("--triage", default=".build/debug/triage")
    parser.add_argument("--artifacts", default=".build/test-artifacts/console")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    ARGS = parser.parse_args()
    driver = browser()
    try:
        lead_views_queues_and_agents(driver)
        lead_back_tests_a_policy(driver)
        incident = agent_takes_acknowledges_returns_and_closes(driver)
        other_team_is_refused(driver, incident)
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        try:
            shot(driver, "failure")
        except WebDriverException:
            pass
        return 1
    finally:
        driver.quit()
    print(f"console browser test: {len(CHECKS)} checks passed; screenshots in {ARGS.artifacts}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
