const http = require("http");
const fs = require("fs");
const ms = require("ms");

http
  .createServer((req, res) => {
    const built = fs.readFileSync("built.txt", "utf8").trim();
    res.end(`node-app node=${process.versions.node.split(".")[0]} ms=${ms("2 days")} ${built} env=${process.env.NODE_ENV}\n`);
  })
  .listen(process.env.PORT);
