"""Drives a command through a pseudo-terminal, as a person at a terminal would: python3 pty_session.py STEPS.json -- CMD...

STEPS.json is a list of steps: {"send": "text"} types the text and Enter; {"raw": "03"} sends bytes (hex: 03 is
Ctrl+C, 04 Ctrl+D); {"wait": "text"} waits until the text appears in what the command wrote after the previous step;
{"sleep": seconds}. Everything the command wrote goes to stdout, then a last line "EXIT <code>". A command still
running 60 seconds after the last step is killed (EXIT -9).
"""
import json, os, pty, select, signal, sys, time

steps = json.load(open(sys.argv[1]))
command = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

output = bytearray()
closed = False


def pump(seconds):
    global closed
    if closed:
        time.sleep(seconds)
        return
    ready, _, _ = select.select([fd], [], [], seconds)
    if ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            closed = True
        output.extend(data)


mark = 0
for step in steps:
    if "send" in step:
        mark = len(output)
        os.write(fd, step["send"].encode() + b"\r")
    elif "raw" in step:
        mark = len(output)
        os.write(fd, bytes.fromhex(step["raw"]))
    elif "sleep" in step:
        end = time.time() + step["sleep"]
        while time.time() < end:
            pump(0.05)
    elif "wait" in step:
        end = time.time() + 60
        text = step["wait"].encode()
        while text not in output[mark:] and time.time() < end and not closed:
            pump(0.05)
        mark = len(output)

# The command closes the terminal as it exits: wait for it to be gone (reaped), reading what is left.
end = time.time() + 60
code = None
while time.time() < end:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done != 0:
        code = os.waitstatus_to_exitcode(status)
        break
    pump(0.1)
if code is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    code = -9
end = time.time() + 5
while not closed and time.time() < end:
    pump(0.1)
sys.stdout.buffer.write(bytes(output))
sys.stdout.write("\nEXIT %d\n" % code)
