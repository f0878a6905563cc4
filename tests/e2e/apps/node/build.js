// The build script runs at build time; its output ships in the slug.
require("fs").writeFileSync("built.txt", "built at build time\n");
