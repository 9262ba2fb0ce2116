"""A fake OpenAI-compatible model server for the summary tests.

Two ways to run it:
  fake_model_server.py --mode MODE [--reply TEXT] [--log DIR]
      prints its port, then serves until killed. MODE: ok (answers --reply), timeout (never
      answers), 500, garbage (200 with a body that is not JSON), close (drops the connection).
  fake_model_server.py -m MODEL --host H --port P [llama-server's other flags]
      stands in for llama-server: fails like it when MODEL does not exist, else serves /health
      and answers like mode ok.
GET /requests answers how many POSTs it has seen. Each POST body is written to --log DIR.
"""
import argparse, json, os, socket, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="ok")
parser.add_argument("--reply", default="The panel likes both tools.")
parser.add_argument("--log")
parser.add_argument("-m", dest="model")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("-np", dest="slots")
parser.add_argument("-t", dest="threads")
parser.add_argument("-c", dest="context")
parser.add_argument("--cache-ram", dest="cache_ram")
args = parser.parse_args()

if args.model is not None:
    print("build: fake llama-server", file=sys.stderr, flush=True)
    magic = open(args.model, "rb").read(4) if os.path.exists(args.model) else b""
    if magic != b"GGUF":
        # What llama-server 0.3.36 prints (docs/llm-runtime.md): the first E line names the cause.
        print("0.00.004.100 I build: fake llama-server", file=sys.stderr, flush=True)
        print("0.00.004.252 E gguf_init_from_reader: invalid magic characters: 'not ', expected 'GGUF'",
              file=sys.stderr, flush=True)
        print("0.00.004.300 E llama_model_load: error loading model", file=sys.stderr, flush=True)
        print("0.00.004.310 E srv  llama_server: exiting due to model loading error", file=sys.stderr, flush=True)
        sys.exit(1)

posts = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self.send_json(200, {"status": "ok"})
        elif self.path == "/requests":
            self.send_json(200, {"posts": posts})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        global posts
        posts += 1
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if args.log:
            with open(os.path.join(args.log, f"{posts:03d}.json"), "wb") as f:
                f.write(body)
            with open(os.path.join(args.log, f"{posts:03d}.headers"), "w") as f:
                f.write(f"Authorization: {self.headers.get('Authorization', '')}\n")
        mode = args.mode
        if mode == "timeout":
            time.sleep(3600)
        elif mode == "500":
            self.send_json(500, {"error": {"message": "the model crashed"}})
        elif mode == "garbage":
            raw = b"<html>502 Bad Gateway</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        elif mode == "close":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"choices": [')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        elif self.path == "/apply-template":
            request = json.loads(body)
            prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in request["messages"])
            self.send_json(200, {"prompt": prompt + "<|im_start|>assistant\n"})
        elif self.path == "/completion":
            self.send_json(200, {
                "content": args.reply, "tokens_predicted": 12, "tokens_evaluated": 200,
                "timings": {"prompt_n": 200, "prompt_ms": 40.0, "predicted_n": 12, "predicted_ms": 60.0}})
        else:
            # Like llama-server: the reply ends where a stop string begins, which is left out.
            content = args.reply
            for stop in json.loads(body or b"{}").get("stop") or []:
                if stop in content:
                    content = content[:content.index(stop)]
            self.send_json(200, {
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
                "timings": {"prompt_n": 321, "prompt_ms": 80.5, "predicted_n": 45, "predicted_ms": 300.0,
                            "predicted_per_second": 150.0}})


server = ThreadingHTTPServer((args.host, args.port), Handler)
server.daemon_threads = True
if args.model is None:
    print(server.server_address[1], flush=True)
else:
    print(f"main: server is listening on http://{args.host}:{server.server_address[1]}", file=sys.stderr, flush=True)
server.serve_forever()
