"""The web demo end to end in a real headless Chromium (Debian's chromium + chromedriver).

A visitor uploads the bundled photo, presses Run and gets the overlay, the downloads and
(with the animation exporter) a 3D view whose WebGL canvas shows the mesh; then the same
with the bundled video, which must play in the browser; then a broken file and a video
without people, which get a message in the page. Each session's files must be gone once
its page is left. The page may only talk to the
app: the browser's network log is checked for any other host. Screenshots go to
``$SMPLESTX_WEBUI_SCREENSHOTS`` when it is set.
"""

import io
import json
import os
import shutil
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from webui_utils import IMAGE, VIDEO, tiny_video

from smplestx.apis.webui.jobs import animation_problem

EXPORTER = animation_problem() is None
CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')
#: Headless Chromium on a machine without a GPU or a network: SwiftShader for WebGL, and
#: none of the background connections (updates, sync, safe browsing) a closed network refuses.
CHROMIUM_FLAGS = ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                  '--enable-unsafe-swiftshader', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--disable-quic',
                  '--no-first-run', '--window-size=1280,1800')
RUN_TIMEOUT_S = 90

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason='the browser test needs Debian\'s chromium and chromium-driver (apt-get install '
    'chromium chromium-driver; .ci/run installs them)')


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    webdriver = pytest.importorskip('selenium.webdriver',
                                    reason='the browser test needs selenium (tests extra)')
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f'--user-data-dir={tmp_path_factory.mktemp("chromium_profile")}')
    options.set_capability('goog:loggingPrefs', {'performance': 'ALL'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=RUN_TIMEOUT_S, what='the page'):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.25).until(
        condition, message=f'timed out waiting for {what}')


def find(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def text_of(driver, css):
    found = find(driver, css)
    return found[0].text if found else ''


def squeezed(text):
    """``text`` without white space (the page breaks file names into spans)."""
    return ''.join(text.split())


def upload_and_run(driver, path, expected_status):
    wait(driver, lambda d: find(d, '#upload input[type=file]'), what='the upload field')
    find(driver, '#upload input[type=file]')[0].send_keys(str(path))
    wait(driver, lambda d: path.name in squeezed(text_of(d, '#upload')), what='the upload')
    find(driver, '#run')[0].click()
    wait(driver, lambda d: expected_status in text_of(d, '#status'), what='the run')


def download_links(driver, css):
    """File names offered for download in an element (the link text is the file size)."""
    return sorted(urllib.parse.unquote(Path(urllib.parse.urlparse(href).path).name)
                  for href in (a.get_attribute('href') for a in find(driver, f'{css} a'))
                  if href and '/gradio_api/file=' in href)


def canvas_pixels(driver):
    """RGB pixels of the 3D viewer's canvas, from a screenshot of the element."""
    from PIL import Image

    canvas = find(driver, '#view3d canvas')[0]
    return np.asarray(Image.open(io.BytesIO(canvas.screenshot_as_png)).convert('RGB'))


def colourful(pixels):
    """Whether an RGB image shows something: spread and many distinct colours."""
    return pixels.std() > 5 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def check_3d_view(driver):
    if not EXPORTER:
        assert 'need the animation exporter' in text_of(driver, '#status')
        return
    wait(driver, lambda d: find(d, '#view3d canvas'), what='the 3D view')
    # The viewer loads the GLB, then draws: poll the canvas until the body shows.
    wait(driver, lambda d: colourful(canvas_pixels(d)), 30, 'the mesh in the 3D view')


def save(driver, name, tmp_path):
    folder = Path(os.environ.get('SMPLESTX_WEBUI_SCREENSHOTS') or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script('return document.documentElement.scrollHeight')
    driver.set_window_size(1280, max(1200, height + 200))  # the whole page, with a margin
    driver.save_screenshot(str(folder / f'{name}.png'))


def requested_urls(driver):
    urls = set()
    for entry in driver.get_log('performance'):
        message = json.loads(entry['message'])['message']
        if message['method'] == 'Network.requestWillBeSent':
            urls.add(message['params']['request']['url'])
    return urls


def session_folders(web_app):
    return sorted(p.name for p in web_app.sessions_dir.iterdir()) if \
        web_app.sessions_dir.is_dir() else []


def uploads_named(web_app, name):
    return [p for p in web_app.upload_dir.rglob(name) if 'sessions' not in p.parts]


def test_image_then_video_in_the_browser(web_app, browser, tmp_path):
    start = time.monotonic()
    browser.get(web_app.url)
    wait(browser, lambda d: 'Placeholder model' in text_of(d, '#notice'), 30,
         'the placeholder notice')

    upload_and_run(browser, IMAGE, 'astronaut.jpg: 1 person in 1 frame')
    overlay = wait(browser, lambda d: find(d, '#overlay img'), what='the overlay')[0]
    assert wait(browser, lambda d: overlay.get_attribute('naturalWidth') == '512', 30,
                'the overlay image to load')
    assert download_links(browser, '#params') == ['astronaut_smplx.zip']
    if EXPORTER:
        assert [n.endswith('.glb') for n in download_links(browser, '#glb')] == [True]
        assert [n.endswith('.bvh') for n in download_links(browser, '#bvh')] == [True]
    check_3d_view(browser)
    save(browser, 'webui_image', tmp_path)
    assert len(session_folders(web_app)) == 1 and uploads_named(web_app, IMAGE.name)

    browser.get(web_app.url)  # a new session; the first one ends
    upload_and_run(browser, VIDEO, 'astronaut_pan.mp4: 20 people in 20 frames')
    video = wait(browser, lambda d: find(d, '#overlay-video video'), what='the video')[0]
    state = wait(browser, lambda d: d.execute_script(
        'const v = arguments[0]; return v.readyState >= 1 && !v.error && '
        '[v.duration, v.videoWidth, v.videoHeight];', video), 30, 'the video to play')
    assert state[0] == pytest.approx(2.0, abs=0.15) and state[1:] == [320, 240]
    assert download_links(browser, '#params') == ['astronaut_pan_smplx.zip']
    check_3d_view(browser)
    save(browser, 'webui_video', tmp_path)

    # The first session's outputs and upload are gone; the second's are there.
    wait(browser, lambda d: len(session_folders(web_app)) == 1 and
         not uploads_named(web_app, IMAGE.name), 20, 'the first session\'s files to go')
    assert uploads_named(web_app, VIDEO.name)

    origin = web_app.url.rstrip('/')
    fetched = requested_urls(browser)
    assert any(u.startswith(f'{origin}/gradio_api/file=') for u in fetched)
    foreign = sorted(u for u in fetched if u.split(':')[0] in ('http', 'https', 'ws', 'wss')
                     and not u.startswith((f'{origin}/', origin.replace('http', 'ws', 1))))
    assert not foreign, f'the page fetched from other hosts: {foreign}'

    # A third session: the video's files go; a bad upload and an empty video get a message.
    browser.get(web_app.url)
    wait(browser, lambda d: not uploads_named(web_app, VIDEO.name), 20,
         'the second session\'s files to go')
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not an image')
    upload_and_run(browser, broken, 'Error: Cannot decode image file broken.jpg')
    find(browser, '#upload button[aria-label=Clear]')[0].click()
    upload_and_run(browser, tiny_video(tmp_path / 'tiny.mp4'),
                   'No people were found in the video (tiny.mp4, 3 frames)')

    browser.get('about:blank')  # the last session ends too
    wait(browser, lambda d: not session_folders(web_app) and
         not uploads_named(web_app, 'tiny.mp4'), 20, 'the last session\'s files to go')
    assert time.monotonic() - start < 180
